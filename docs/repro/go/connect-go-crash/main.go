// What does a connect-go client read when its server dies mid-stream (issue 27)? A
// connect-go server streams a message a second; this program starts it as a child
// process, calls it with a connect-go client in each of the three protocols, and kills
// the server (SIGKILL) after the first message. The gRPC rules (PROTOCOL-HTTP2.md:
// a connection failure closes every call with UNAVAILABLE) call for unavailable; each
// protocol prints what the client read. No lab code is used.
//
//	cd docs/repro/go && go run ./connect-go-crash
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const procedure = "/repro.v1.Repro/Stream"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "server" {
		serve()
		return
	}
	for _, protocol := range []string{"grpc", "grpc-web", "connect"} {
		code, message := callAndKill(protocol)
		fmt.Printf("%-8s: %s %q\n", protocol, code, message)
	}
}

// serve streams a message a second, forever, on h2c (gRPC, gRPC-Web and Connect on one port).
func serve() {
	mux := http.NewServeMux()
	mux.Handle(procedure, connect.NewServerStreamHandler(procedure,
		func(ctx context.Context, _ *connect.Request[emptypb.Empty], stream *connect.ServerStream[wrapperspb.StringValue]) error {
			for i := 1; ; i++ {
				if err := stream.Send(wrapperspb.String(fmt.Sprint("message ", i))); err != nil {
					return err
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Second):
				}
			}
		}))
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(listener.Addr().(*net.TCPAddr).Port)
	server := &http.Server{Handler: mux, Protocols: new(http.Protocols)}
	server.Protocols.SetHTTP1(true)
	server.Protocols.SetUnencryptedHTTP2(true)
	_ = server.Serve(listener)
}

// callAndKill starts a server, calls it, kills it after message 1, and says how the call ended.
func callAndKill(protocol string) (connect.Code, string) {
	child := exec.Command(os.Args[0], "server")
	out, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		panic(err)
	}
	defer child.Process.Kill()
	var port string
	if _, err := fmt.Fscanln(out, &port); err != nil {
		panic(err)
	}
	transport := &http.Transport{Protocols: new(http.Protocols)}
	transport.Protocols.SetUnencryptedHTTP2(true)
	var options []connect.ClientOption
	switch protocol {
	case "grpc":
		options = append(options, connect.WithGRPC())
	case "grpc-web":
		options = append(options, connect.WithGRPCWeb())
	}
	client := connect.NewClient[emptypb.Empty, wrapperspb.StringValue](
		&http.Client{Transport: transport}, "http://127.0.0.1:"+strings.TrimSpace(port)+procedure, options...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := client.CallServerStream(ctx, connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		return connect.CodeOf(err), err.Error()
	}
	defer stream.Close()
	for received := 0; stream.Receive(); received++ {
		if received == 0 {
			_ = child.Process.Kill() // SIGKILL: the server's kernel closes its sockets
		}
	}
	var ce *connect.Error
	if errors.As(stream.Err(), &ce) {
		return ce.Code(), ce.Message()
	}
	return connect.CodeOf(stream.Err()), fmt.Sprint(stream.Err())
}
