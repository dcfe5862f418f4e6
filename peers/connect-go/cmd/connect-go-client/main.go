// Command connect-go-client makes Chat calls (or health checks) with connect-go on
// net/http, in any of its three protocols, with the flags, printed lines and --json
// record of client.ts (docs/flags.md); with --agent it is the lab's client agent.
//
//	go run ./cmd/connect-go-client --port 50051 --protocol connect --ping-interval-ms 1000
//
// connect-go has no liveness settings of its own: keepalive is net/http's HTTP/2 health
// check (http.HTTP2Config.SendPingTimeout, x/net/http2's ReadIdleTimeout: a PING after
// that long without a frame from the server, on idle connections too), PingTimeout, and
// the transport's IdleConnTimeout.
package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"connectlab.dev/connect-go/gen"
	"connectlab.dev/connect-go/gen/chatv1connect"
	healthv1 "connectlab.dev/connect-go/gen/grpc/health/v1"
	"connectlab.dev/connect-go/gen/grpc/health/v1/healthv1connect"
	"connectlab.dev/golab"
	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/dynamicpb"
)

func main() {
	golab.RunClient(&golab.ClientStack{
		Client:    "connect-go",
		Program:   "connect-go-client",
		Summary:   "one Chat call (or a health check) with connect-go",
		Protocols: golab.Protocols,
		Flags:     golab.ClientFlags("connect-go", golab.Protocols, "15000 (net/http's)"),
		Library:   "connectrpc.com/connect " + moduleVersion("connectrpc.com/connect"),
		NewCaller: newCaller,
	})
}

type caller struct {
	transport *http.Transport
	client    *http.Client
	base      string
	options   []connect.ClientOption
	chat      chatv1connect.ChatServiceClient
	health    healthv1connect.HealthClient
}

// newCaller makes a client on an http.Transport of its own: its own connections.
func newCaller(s *golab.ClientSettings) (golab.Caller, error) {
	if err := refuse(s); err != nil {
		return nil, err
	}
	transport, err := httpTransport(s)
	if err != nil {
		return nil, err
	}
	scheme := "http://"
	if s.TLSCA != nil {
		scheme = "https://"
	}
	base := scheme + golab.Authority(s.Host, s.Port)
	var options []connect.ClientOption
	switch s.Protocol {
	case "grpc":
		options = append(options, connect.WithGRPC())
	case "grpc-web":
		options = append(options, connect.WithGRPCWeb())
	}
	client := &http.Client{Transport: transport}
	return &caller{
		transport: transport,
		client:    client,
		base:      base,
		options:   options,
		chat:      chatv1connect.NewChatServiceClient(client, base, options...),
		health:    healthv1connect.NewHealthClient(client, base, options...),
	}, nil
}

// refuse names the flags connect-go has no way to honour: it calls one URL, and has no
// wait-for-ready and no client-side health checking.
func refuse(s *golab.ClientSettings) error {
	var flags []string
	for flag, given := range map[string]bool{"--target": s.Target != "", "--lb-policy": s.LbPolicy != "", "--wait-for-ready": s.WaitForReady, "--health-check": s.HealthCheck} {
		if given {
			flags = append(flags, flag)
		}
	}
	if len(flags) > 0 {
		return golab.Usagef("%v: not in connect-go: it calls one URL per client, and has no wait-for-ready and no client-side health checking", flags)
	}
	return nil
}

// httpTransport is net/http's transport for HTTP/2 only (h2c, or TLS with ALPN h2), its
// keepalive from the flags over --options.
func httpTransport(s *golab.ClientSettings) (*http.Transport, error) {
	o := golab.NewOptions(s.Options)
	h2 := &http.HTTP2Config{}
	dialer := &net.Dialer{}
	transport := &http.Transport{HTTP2: h2, Protocols: new(http.Protocols), DialContext: dialer.DialContext}
	for name, into := range map[string]*time.Duration{
		"http.HTTP2Config.SendPingTimeout":  &h2.SendPingTimeout,
		"http.HTTP2Config.PingTimeout":      &h2.PingTimeout,
		"http.HTTP2Config.WriteByteTimeout": &h2.WriteByteTimeout,
		"http.Transport.IdleConnTimeout":    &transport.IdleConnTimeout,
		"net.Dialer.Timeout":                &dialer.Timeout,
	} {
		if v, ok := o.Ms(name); ok {
			*into = v
		}
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	if s.PingIntervalMs > 0 {
		h2.SendPingTimeout = time.Duration(s.PingIntervalMs) * time.Millisecond
	}
	if s.PingTimeoutMs > 0 {
		h2.PingTimeout = time.Duration(s.PingTimeoutMs) * time.Millisecond
	}
	config, err := golab.ClientTLS(s)
	if err != nil {
		return nil, err
	}
	if config != nil {
		transport.TLSClientConfig = config
		transport.Protocols.SetHTTP2(true)
	} else {
		transport.Protocols.SetUnencryptedHTTP2(true)
	}
	return transport, nil
}

func (c *caller) Close() { c.transport.CloseIdleConnections() }

func ended(err error) golab.CallEnd {
	if err == nil {
		return golab.CallEnd{}
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return golab.CallEnd{Code: int(ce.Code()), Message: ce.Message()}
	}
	return golab.CallEnd{Code: int(connect.CodeOf(err)), Message: err.Error()}
}

func (c *caller) Call(ctx context.Context, r *golab.Reporter, s *golab.ClientSettings) golab.CallEnd {
	request := &healthv1.HealthCheckRequest{Service: s.HealthService}
	switch s.Method {
	case "health-check":
		response, err := c.health.Check(ctx, connect.NewRequest(request))
		if err != nil {
			return ended(err)
		}
		r.Message(1, golab.ServingName(int32(response.Msg.GetStatus())), time.Time{})
		return golab.CallEnd{Unhealthy: response.Msg.GetStatus() != healthv1.HealthCheckResponse_SERVING}
	case "health-watch":
		stream, err := c.health.Watch(ctx, connect.NewRequest(request))
		if err != nil {
			return ended(err)
		}
		defer stream.Close()
		for index := 1; stream.Receive(); index++ {
			r.Message(index, golab.ServingName(int32(stream.Msg().GetStatus())), time.Time{})
		}
		return ended(stream.Err())
	case "dynamic":
		return ended(c.dynamic(ctx, r, s.Dynamic))
	}
	stream, err := c.chat.Chat(ctx, connect.NewRequest(&chatv1.ChatRequest{Name: s.Name, Text: s.Text}))
	if err != nil {
		return ended(err)
	}
	defer stream.Close()
	for stream.Receive() {
		m := stream.Msg()
		r.Message(int(m.GetIndex()), m.GetText(), m.GetSentAt().AsTime())
	}
	return ended(stream.Err())
}

// dynamic makes a call from the user's schema with a connect.Client of dynamicpb messages
// (connect.WithSchema and WithResponseInitializer, as connect-go documents for them): one
// request; a bidi call keeps its send side open until the call ends, as a client that may
// still send would (lib/dynamic-call.ts requestStream).
func (c *caller) dynamic(ctx context.Context, r *golab.Reporter, d *golab.DynamicCall) error {
	options := append([]connect.ClientOption{
		connect.WithSchema(d.Desc),
		connect.WithResponseInitializer(func(_ connect.Spec, message any) error {
			if m, ok := message.(*dynamicpb.Message); ok {
				*m = *d.NewResponse()
			}
			return nil
		}),
	}, c.options...)
	client := connect.NewClient[dynamicpb.Message, dynamicpb.Message](c.client, c.base+d.Path, options...)
	request := d.Request.(*dynamicpb.Message)
	switch {
	case d.ClientStreams() && d.ServerStreams():
		stream := client.CallBidiStream(ctx)
		defer stream.CloseResponse()
		if err := stream.Send(request); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		for index := 1; ; index++ {
			response, err := stream.Receive()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			r.Message(index, golab.Describe(response), time.Time{})
		}
	case d.ClientStreams():
		stream := client.CallClientStream(ctx)
		if err := stream.Send(request); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		response, err := stream.CloseAndReceive()
		if err != nil {
			return err
		}
		r.Message(1, golab.Describe(response.Msg), time.Time{})
		return nil
	case d.ServerStreams():
		stream, err := client.CallServerStream(ctx, connect.NewRequest(request))
		if err != nil {
			return err
		}
		defer stream.Close()
		for index := 1; stream.Receive(); index++ {
			r.Message(index, golab.Describe(stream.Msg()), time.Time{})
		}
		return stream.Err()
	default:
		response, err := client.CallUnary(ctx, connect.NewRequest(request))
		if err != nil {
			return err
		}
		r.Message(1, golab.Describe(response.Msg), time.Time{})
		return nil
	}
}

// moduleVersion is a module's version as the binary was built with it.
func moduleVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == path {
				return m.Version
			}
		}
	}
	return "(unknown)"
}
