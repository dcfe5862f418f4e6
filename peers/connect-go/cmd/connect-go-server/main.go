// Command connect-go-server is the Chat service on connect-go over net/http: gRPC,
// gRPC-Web and Connect on one h2c port (or TLS with --tls-cert), with the flags and
// printed lines of server.ts (docs/flags.md) where net/http lets it tell.
//
//	go run ./cmd/connect-go-server --port 50051
//
// --stop-mode: ours (GOAWAY, streams finish within --grace-ms, the rest end unavailable
// "server shutting down"), library-graceful (http.Server.Shutdown: GOAWAY, then it waits
// for every connection to go idle) or library-immediate (http.Server.Close: every
// connection closed at once).
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"connectlab.dev/connect-go/gen"
	"connectlab.dev/connect-go/gen/chatv1connect"
	healthv1 "connectlab.dev/connect-go/gen/grpc/health/v1"
	"connectlab.dev/connect-go/gen/grpc/health/v1/healthv1connect"
	"connectlab.dev/golab"
	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const program = "connect-go-server"

func main() { golab.Run(program, serve) }

func serve() error {
	specs := golab.ServerFlags(
		"ours (a grace, then unavailable \"server shutting down\"), library-graceful (http.Server.Shutdown), library-immediate (http.Server.Close)",
		`net/http server options as a JSON object, by their Go names, e.g. {"http.HTTP2Config.SendPingTimeout":1000} (ms); the other flags win over them`,
	)
	for i := range specs {
		if specs[i].Name == "max-connection-age-ms" {
			specs[i].Help = "only 0: net/http has no max connection age"
		}
	}
	s, err := golab.ReadServerSettings(program, "the Chat service on connect-go (gRPC, gRPC-Web and Connect over h2c, or TLS with --tls-cert)", specs, os.Args[1:])
	if err != nil {
		return err
	}
	if s.MaxAgeMs > 0 || s.MaxAgeGraceMs >= 0 {
		return golab.Usagef("--max-connection-age-ms: net/http has no max connection age (no GOAWAY at an age), only 0")
	}
	server, err := httpServer(s)
	if err != nil {
		return err
	}
	state := golab.NewServer(s)
	mux := http.NewServeMux()
	readMax := connect.WithReadMaxBytes(int(s.ReadMaxBytes))
	mux.Handle(chatv1connect.NewChatServiceHandler(&chat{state: state}, readMax))
	mux.Handle(healthv1connect.NewHealthHandler(&health{state: state}, readMax))
	server.Handler = mux
	listener, err := golab.Listen(s.Host, s.Port)
	if err != nil {
		return err
	}
	go func() {
		var err error
		if server.TLSConfig != nil {
			err = server.ServeTLS(listener, "", "")
		} else {
			err = server.Serve(listener)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "%s: %s\n", program, err)
			os.Exit(1)
		}
	}()
	golab.ListeningLine(s.Host, golab.Port(listener), "connect-go "+moduleVersion("connectrpc.com/connect"))
	state.HandleSignals(golab.Stops{
		Graceful:      func() { _ = server.Shutdown(context.Background()) },
		GracefulName:  "http.Server.Shutdown()",
		Immediate:     func() { _ = server.Close() },
		ImmediateName: "http.Server.Close()",
	})
	return nil
}

// httpServer is net/http's server as the flags and --options configure it: h2c (or TLS,
// ALPN h2), its HTTP/2 keepalive (SendPingTimeout: a PING after that long without a frame
// from the client, x/net/http2's ReadIdleTimeout) and its stream limit.
func httpServer(s *golab.ServerSettings) (*http.Server, error) {
	o := golab.NewOptions(s.Options)
	h2 := &http.HTTP2Config{MaxConcurrentStreams: int(s.MaxStreams)}
	ms := func(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
	h2.SendPingTimeout, h2.PingTimeout = ms(s.PingIntervalMs), ms(s.PingTimeoutMs)
	set := func(name string, into *time.Duration) {
		if v, ok := o.Ms(name); ok {
			*into = v
		}
	}
	if !s.PingExplicit {
		set("http.HTTP2Config.SendPingTimeout", &h2.SendPingTimeout)
		set("http.HTTP2Config.PingTimeout", &h2.PingTimeout)
	} else {
		o.Ms("http.HTTP2Config.SendPingTimeout")
		o.Ms("http.HTTP2Config.PingTimeout")
	}
	set("http.HTTP2Config.WriteByteTimeout", &h2.WriteByteTimeout)
	if v, ok := o.Count("http.HTTP2Config.MaxConcurrentStreams"); ok {
		h2.MaxConcurrentStreams = int(v)
	}
	server := &http.Server{HTTP2: h2, Protocols: new(http.Protocols)}
	set("http.Server.IdleTimeout", &server.IdleTimeout)
	if err := o.Check(); err != nil {
		return nil, err
	}
	config, err := golab.ServerTLS(s)
	if err != nil {
		return nil, err
	}
	if config != nil {
		server.TLSConfig = config
		server.Protocols.SetHTTP2(true)
	} else {
		server.Protocols.SetHTTP1(true)
		server.Protocols.SetUnencryptedHTTP2(true)
	}
	// net/http logs a client's protocol errors on stderr; the lab reads stdout.
	server.ErrorLog = nil
	return server, nil
}

type chat struct{ state *golab.Server }

// protocolName is the protocol as the lab names it.
func protocolName(p string) string {
	if p == connect.ProtocolGRPCWeb {
		return "grpc-web"
	}
	return p
}

func (c *chat) Chat(ctx context.Context, request *connect.Request[chatv1.ChatRequest], stream *connect.ServerStream[chatv1.ChatResponse]) error {
	st := c.state.StartStream(request.Peer().Addr, protocolName(request.Peer().Protocol))
	err := st.Replies(ctx, request.Msg.GetName(), request.Msg.GetText(), "handed to net/http", func(r golab.Reply) error {
		return stream.Send(&chatv1.ChatResponse{Index: uint32(r.Index), Text: r.Text, SentAt: timestamppb.New(r.SentAt)})
	})
	switch {
	case err == nil:
		st.End("ok", "", false)
		return nil
	case errors.Is(err, golab.ErrShuttingDown):
		st.End("unavailable", golab.ShuttingDown, false)
		return connect.NewError(connect.CodeUnavailable, errors.New(golab.ShuttingDown))
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		st.End("deadline_exceeded", "", false)
		return connect.NewError(connect.CodeDeadlineExceeded, ctx.Err())
	case ctx.Err() != nil:
		// The client reset the stream, or its connection was lost: net/http cancelled the request.
		st.End("canceled", "", true)
		return connect.NewError(connect.CodeCanceled, ctx.Err())
	}
	code := connect.CodeOf(err)
	st.End(golab.CodeName(int(code)), err.Error(), true)
	return err
}

// health is grpc.health.v1.Health as the lab's Node servers serve it (lib/health-status.ts).
type health struct{ state *golab.Server }

func (h *health) Check(_ context.Context, r *connect.Request[healthv1.HealthCheckRequest]) (*connect.Response[healthv1.HealthCheckResponse], error) {
	st, ok := h.state.Status(r.Msg.GetService())
	if !ok {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("unknown service %q", r.Msg.GetService()))
	}
	return connect.NewResponse(&healthv1.HealthCheckResponse{Status: healthv1.HealthCheckResponse_ServingStatus(st)}), nil
}

func (h *health) Watch(ctx context.Context, r *connect.Request[healthv1.HealthCheckRequest], stream *connect.ServerStream[healthv1.HealthCheckResponse]) error {
	last := int32(-1)
	for {
		changed, draining := h.state.Changes()
		st, ok := h.state.Status(r.Msg.GetService())
		if !ok {
			st = golab.ServiceUnknown
		}
		if st != last {
			last = st
			if err := stream.Send(&healthv1.HealthCheckResponse{Status: healthv1.HealthCheckResponse_ServingStatus(st)}); err != nil {
				return err
			}
			continue
		}
		if draining {
			return connect.NewError(connect.CodeUnavailable, errors.New(golab.ShuttingDown))
		}
		select {
		case <-changed:
		case <-ctx.Done():
			// connect-go codes a context's error itself: deadline_exceeded when the call's deadline
			// passed, canceled when the client left (a canceled "context deadline exceeded" once reached
			// a grpcio watch before its own deadline timer did).
			return ctx.Err()
		}
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
