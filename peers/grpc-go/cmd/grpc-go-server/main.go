// Command grpc-go-server is the Chat service on grpc-go, with the flags and printed
// lines of server.ts (docs/flags.md) where grpc-go can tell what happened.
//
//	go run ./cmd/grpc-go-server --port 50051
//
// --stop-mode says how SIGTERM or SIGINT stops it: ours (GOAWAY, streams finish within
// --grace-ms, the rest end unavailable "server shutting down"), library-graceful
// (GracefulStop, which waits for every stream with no time limit: grpc-go #5225) or
// library-immediate (Stop: every connection closed, no GOAWAY, no RST_STREAM).
package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"connectlab.dev/golab"
	chatv1 "connectlab.dev/grpc-go/gen"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const program = "grpc-go-server"

// version is grpc-go's, as the module graph has it.
var version = grpc.Version

func main() { golab.Run(program, serve) }

func serve() error {
	specs := golab.ServerFlags(
		"ours (a grace, then unavailable \"server shutting down\"), library-graceful (GracefulStop), library-immediate (Stop)",
		`grpc-go server options as a JSON object, by the names of keepalive.ServerParameters, keepalive.EnforcementPolicy and grpc.MaxConcurrentStreams, e.g. {"keepalive.EnforcementPolicy.MinTime":1000} (ms); the other flags win over them`,
	)
	s, err := golab.ReadServerSettings(program, "the Chat service on grpc-go (gRPC over h2c, or TLS with --tls-cert)", specs, os.Args[1:])
	if err != nil {
		return err
	}
	options, err := serverOptions(s)
	if err != nil {
		return err
	}
	listener, err := golab.Listen(s.Host, s.Port)
	if err != nil {
		return err
	}
	server := grpc.NewServer(options...)
	state := golab.NewServer(s)
	chatv1.RegisterChatServiceServer(server, &chat{state: state})
	healthpb.RegisterHealthServer(server, &health{state: state})
	go func() {
		if err := server.Serve(listener); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			fmt.Fprintf(os.Stderr, "%s: %s\n", program, err)
			os.Exit(1)
		}
	}()
	golab.ListeningLine(s.Host, golab.Port(listener), "grpc-go "+version)
	state.HandleSignals(golab.Stops{
		Graceful: server.GracefulStop, GracefulName: "GracefulStop()",
		Immediate: server.Stop, ImmediateName: "Stop()",
	})
	return nil
}

// serverOptions are the flags and --options as grpc-go server options: the profile's
// options first, the flags given on the command line over them (the case's remedy).
func serverOptions(s *golab.ServerSettings) ([]grpc.ServerOption, error) {
	o := golab.NewOptions(s.Options)
	params := keepalive.ServerParameters{}
	policy := keepalive.EnforcementPolicy{MinTime: 5 * time.Minute} // grpc-go's default
	ms := func(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
	// The lab servers' keepalive defaults (--ping-interval-ms 60000) unless the profile sets
	// grpc-go's own; flags given on the command line win over both.
	params.Time, params.Timeout = ms(s.PingIntervalMs), ms(s.PingTimeoutMs)
	if s.PingIntervalMs == 0 {
		params.Time = math.MaxInt64 // off: grpc-go's "infinity"
	}
	set := func(name string, into *time.Duration) {
		if v, ok := o.Ms(name); ok {
			*into = v
		}
	}
	if !s.PingExplicit {
		set("keepalive.ServerParameters.Time", &params.Time)
		set("keepalive.ServerParameters.Timeout", &params.Timeout)
	} else {
		o.Ms("keepalive.ServerParameters.Time")
		o.Ms("keepalive.ServerParameters.Timeout")
	}
	set("keepalive.ServerParameters.MaxConnectionIdle", &params.MaxConnectionIdle)
	set("keepalive.ServerParameters.MaxConnectionAge", &params.MaxConnectionAge)
	set("keepalive.ServerParameters.MaxConnectionAgeGrace", &params.MaxConnectionAgeGrace)
	set("keepalive.EnforcementPolicy.MinTime", &policy.MinTime)
	if v, ok := o.Bool("keepalive.EnforcementPolicy.PermitWithoutStream"); ok {
		policy.PermitWithoutStream = v
	}
	if s.MaxAgeMs > 0 {
		params.MaxConnectionAge = ms(s.MaxAgeMs)
	}
	if s.MaxAgeGraceMs >= 0 {
		params.MaxConnectionAgeGrace = ms(s.MaxAgeGraceMs)
	}
	streams := uint32(s.MaxStreams)
	if v, ok := o.Count("grpc.MaxConcurrentStreams"); ok {
		streams = uint32(min(v, math.MaxUint32))
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	options := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(int(s.ReadMaxBytes)),
		grpc.MaxConcurrentStreams(streams),
		grpc.KeepaliveParams(params),
		grpc.KeepaliveEnforcementPolicy(policy),
	}
	config, err := golab.ServerTLS(s)
	if err != nil {
		return nil, err
	}
	if config != nil {
		options = append(options, grpc.Creds(credentials.NewTLS(config)))
	}
	return options, nil
}

type chat struct {
	chatv1.UnimplementedChatServiceServer
	state *golab.Server
}

func (c *chat) Chat(request *chatv1.ChatRequest, stream grpc.ServerStreamingServer[chatv1.ChatResponse]) error {
	ctx := stream.Context()
	who := "unknown"
	if p, ok := peer.FromContext(ctx); ok {
		who = p.Addr.String()
	}
	st := c.state.StartStream(who, "grpc")
	err := st.Replies(ctx, request.GetName(), request.GetText(), "handed to grpc-go", func(r golab.Reply) error {
		return stream.Send(&chatv1.ChatResponse{Index: uint32(r.Index), Text: r.Text, SentAt: timestamppb.New(r.SentAt)})
	})
	switch {
	case err == nil:
		st.End("ok", "", false)
		return nil
	case errors.Is(err, golab.ErrShuttingDown):
		st.End("unavailable", golab.ShuttingDown, false)
		return status.Error(codes.Unavailable, golab.ShuttingDown)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		st.End("deadline_exceeded", "", false)
		return status.FromContextError(ctx.Err()).Err()
	case ctx.Err() != nil:
		// The client reset the stream, or its connection was lost: grpc-go cancelled the call.
		st.End("canceled", "", true)
		return status.FromContextError(ctx.Err()).Err()
	}
	// A send failed with the stream still alive to us: say what grpc-go said.
	code := status.Code(err)
	st.End(golab.CodeName(int(code)), status.Convert(err).Message(), true)
	return err
}

// health is grpc.health.v1.Health as the lab's Node servers serve it (lib/health-status.ts):
// NOT_SERVING from the moment a drain starts, and then each Watch ends unavailable.
type health struct {
	healthpb.UnimplementedHealthServer
	state *golab.Server
}

func (h *health) Check(_ context.Context, r *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	st, ok := h.state.Status(r.GetService())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown service %q", r.GetService())
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_ServingStatus(st)}, nil
}

func (h *health) Watch(r *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	last := int32(-1)
	for {
		changed, draining := h.state.Changes()
		st, ok := h.state.Status(r.GetService())
		if !ok {
			st = golab.ServiceUnknown
		}
		if st != last {
			last = st
			if err := stream.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_ServingStatus(st)}); err != nil {
				return err
			}
			continue
		}
		if draining {
			return status.Error(codes.Unavailable, golab.ShuttingDown)
		}
		select {
		case <-changed:
		case <-stream.Context().Done():
			return status.FromContextError(stream.Context().Err()).Err()
		}
	}
}
