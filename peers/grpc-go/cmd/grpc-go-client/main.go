// Command grpc-go-client makes Chat calls (or health checks) with grpc-go, with the
// flags, printed lines and --json record of client.ts (docs/flags.md); with --agent it
// is the lab's client agent (docs/agent-protocol.md).
//
//	go run ./cmd/grpc-go-client --port 50051 --ping-interval-ms 10000
//
// grpc-go raises a keepalive time under 10 s to 10 s (internal.KeepaliveMinPingTime):
// a shorter --ping-interval-ms is sent to grpc-go as given, and grpc-go keeps its floor.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"connectlab.dev/golab"
	chatv1 "connectlab.dev/grpc-go/gen"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/health" // client-side health checking (healthCheckConfig)
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/status"
)

func main() {
	resolver.Register(ipv4Builder{})
	golab.RunClient(&golab.ClientStack{
		Client:     "grpc-go",
		Program:    "grpc-go-client",
		Summary:    "one Chat call (or a health check) with grpc-go (gRPC only)",
		Protocols:  []string{"grpc"},
		Flags:      golab.ClientFlags("grpc-go", []string{"grpc"}, "20000 (grpc-go's)"),
		Library:    "google.golang.org/grpc " + grpc.Version,
		NewCaller:  newCaller,
		OwnRetries: true,
	})
}

type caller struct{ conn *grpc.ClientConn }

// newCaller opens a ClientConn of its own: grpc-go shares no connection between them.
func newCaller(s *golab.ClientSettings) (golab.Caller, error) {
	options, err := dialOptions(s)
	if err != nil {
		return nil, err
	}
	target := s.Address()
	if s.Target == "" {
		// One address, dialled as it is (grpc-go's default resolver is DNS).
		target = "passthrough:///" + target
	}
	conn, err := grpc.NewClient(target, options...)
	if err != nil {
		return nil, golab.Usagef("--target %s: %s", s.Address(), err)
	}
	return &caller{conn: conn}, nil
}

// dialOptions are the flags and --options as grpc-go dial options: the profile's options
// under the flags (a flag is the case's remedy).
func dialOptions(s *golab.ClientSettings) ([]grpc.DialOption, error) {
	o := golab.NewOptions(s.Options)
	ka := keepalive.ClientParameters{}
	haveKeepalive := false
	if v, ok := o.Ms("keepalive.ClientParameters.Time"); ok {
		ka.Time, haveKeepalive = v, true
	}
	if v, ok := o.Ms("keepalive.ClientParameters.Timeout"); ok {
		ka.Timeout, haveKeepalive = v, true
	}
	if v, ok := o.Bool("keepalive.ClientParameters.PermitWithoutStream"); ok {
		ka.PermitWithoutStream, haveKeepalive = v, true
	}
	if s.PingIntervalMs > 0 {
		ka.Time, haveKeepalive = time.Duration(s.PingIntervalMs)*time.Millisecond, true
	}
	if s.PingTimeoutMs > 0 {
		ka.Timeout, haveKeepalive = time.Duration(s.PingTimeoutMs)*time.Millisecond, true
	}
	if s.PingIdle {
		ka.PermitWithoutStream, haveKeepalive = true, true
	}
	var options []grpc.DialOption
	if haveKeepalive {
		if ka.Time == 0 {
			ka.Time = time.Duration(1<<63 - 1) // off, as grpc-go's default
		}
		options = append(options, grpc.WithKeepaliveParams(ka))
	}
	if v, ok := o.Ms("grpc.WithIdleTimeout"); ok {
		options = append(options, grpc.WithIdleTimeout(v))
	}
	params := grpc.ConnectParams{Backoff: backoff.DefaultConfig, MinConnectTimeout: 20 * time.Second}
	changed := false
	for name, into := range map[string]*time.Duration{
		"backoff.Config.BaseDelay":             &params.Backoff.BaseDelay,
		"backoff.Config.MaxDelay":              &params.Backoff.MaxDelay,
		"grpc.ConnectParams.MinConnectTimeout": &params.MinConnectTimeout,
	} {
		if v, ok := o.Ms(name); ok {
			*into, changed = v, true
		}
	}
	if changed {
		options = append(options, grpc.WithConnectParams(params))
	}
	user, _ := o.Raw("grpc.WithDefaultServiceConfig")
	if config := golab.MergeServiceConfig(user, golab.ServiceConfig(s)); config != nil {
		text, _ := json.Marshal(config)
		options = append(options, grpc.WithDefaultServiceConfig(string(text)))
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	if s.Target != "" {
		// A list of addresses is no authority: give the one a DNS name would (lib/grpc-js-caller.ts targetAuthority).
		options = append(options, grpc.WithAuthority("localhost"))
	}
	config, err := golab.ClientTLS(s)
	if err != nil {
		return nil, err
	}
	if config != nil {
		options = append(options, grpc.WithTransportCredentials(credentials.NewTLS(config)))
	} else {
		options = append(options, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	return options, nil
}

func (c *caller) Close() { c.conn.Close() }

func (c *caller) Call(ctx context.Context, r *golab.Reporter, s *golab.ClientSettings) golab.CallEnd {
	var callOptions []grpc.CallOption
	if s.WaitForReady {
		callOptions = append(callOptions, grpc.WaitForReady(true))
	}
	ended := func(err error) golab.CallEnd {
		if err == nil || errors.Is(err, io.EOF) {
			return golab.CallEnd{}
		}
		st := status.Convert(err)
		return golab.CallEnd{Code: int(st.Code()), Message: st.Message()}
	}
	switch s.Method {
	case "health-check":
		response, err := healthpb.NewHealthClient(c.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: s.HealthService}, callOptions...)
		if err != nil {
			return ended(err)
		}
		r.Message(1, golab.ServingName(int32(response.GetStatus())), time.Time{})
		return golab.CallEnd{Unhealthy: response.GetStatus() != healthpb.HealthCheckResponse_SERVING}
	case "health-watch":
		stream, err := healthpb.NewHealthClient(c.conn).Watch(ctx, &healthpb.HealthCheckRequest{Service: s.HealthService}, callOptions...)
		if err != nil {
			return ended(err)
		}
		for index := 1; ; index++ {
			response, err := stream.Recv()
			if err != nil {
				return ended(err)
			}
			r.Message(index, golab.ServingName(int32(response.GetStatus())), time.Time{})
		}
	case "dynamic":
		return ended(c.dynamic(ctx, r, s.Dynamic, callOptions))
	}
	stream, err := chatv1.NewChatServiceClient(c.conn).Chat(ctx, &chatv1.ChatRequest{Name: s.Name, Text: s.Text}, callOptions...)
	if err != nil {
		return ended(err)
	}
	for {
		response, err := stream.Recv()
		if err != nil {
			return ended(err)
		}
		r.Message(int(response.GetIndex()), response.GetText(), response.GetSentAt().AsTime())
	}
}

// dynamic makes a call from the user's schema on a stream of grpc-go's own (its proto codec
// takes dynamicpb messages): one request; a bidi call keeps its send side open until the
// call ends, as a client that may still send would (lib/dynamic-call.ts requestStream).
func (c *caller) dynamic(ctx context.Context, r *golab.Reporter, d *golab.DynamicCall, options []grpc.CallOption) error {
	desc := &grpc.StreamDesc{ClientStreams: d.ClientStreams(), ServerStreams: d.ServerStreams()}
	stream, err := c.conn.NewStream(ctx, desc, d.Path, options...)
	if err != nil {
		return err
	}
	if err := stream.SendMsg(d.Request); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if !(desc.ClientStreams && desc.ServerStreams) {
		if err := stream.CloseSend(); err != nil {
			return err
		}
	}
	for index := 1; ; index++ {
		response := d.NewResponse()
		if err := stream.RecvMsg(response); err != nil {
			return err
		}
		r.Message(index, golab.Describe(response), time.Time{})
	}
}

// ipv4Builder resolves "ipv4:127.0.0.1:P1,127.0.0.2:P2" (the target form of gRPC core and
// grpc-js, naming several backends) to that list: grpc-go has no such scheme of its own,
// and its users write a resolver like this one (or grpc/resolver/manual).
type ipv4Builder struct{}

func (ipv4Builder) Scheme() string { return "ipv4" }

func (ipv4Builder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	list := target.URL.Opaque
	if list == "" {
		list = strings.TrimPrefix(target.URL.Path, "/")
	}
	var addresses []resolver.Address
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addresses = append(addresses, resolver.Address{Addr: a})
		}
	}
	if len(addresses) == 0 {
		return nil, errors.New("no address in the ipv4: target")
	}
	if err := cc.UpdateState(resolver.State{Endpoints: endpoints(addresses)}); err != nil {
		return nil, err
	}
	return nopResolver{}, nil
}

func endpoints(addresses []resolver.Address) []resolver.Endpoint {
	out := make([]resolver.Endpoint, len(addresses))
	for i, a := range addresses {
		out[i] = resolver.Endpoint{Addresses: []resolver.Address{a}}
	}
	return out
}

type nopResolver struct{}

func (nopResolver) ResolveNow(resolver.ResolveNowOptions) {}
func (nopResolver) Close()                                {}
