// What does a client read when a grpc-go server's handler outlives the call's deadline (issue 27,
// the lab's stall+deadline against grpc-go)? This server answers every method with one message
// (the request echoed) and then waits, silent, until the call's context ends, returning its error,
// as a stalled handler that honours its context does. It prints its port; its client is
// docs/repro/grpcio-deadline-vs-grpc-go.py. Run: cd docs/repro/go && go run ./grpc-go-deadline-reset
package main

import (
	"fmt"
	"net"

	"google.golang.org/grpc"
)

// raw passes a message's bytes through unchanged: no generated code, any method.
type raw struct{}

func (raw) Marshal(v any) ([]byte, error)   { return *(v.(*[]byte)), nil }
func (raw) Unmarshal(b []byte, v any) error { *(v.(*[]byte)) = append([]byte(nil), b...); return nil }
func (raw) Name() string                    { return "proto" }

func stall(_ any, stream grpc.ServerStream) error {
	var request []byte
	if err := stream.RecvMsg(&request); err != nil {
		return err
	}
	if err := stream.SendMsg(&request); err != nil {
		return err
	}
	<-stream.Context().Done()
	return stream.Context().Err()
}

func main() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(listener.Addr().(*net.TCPAddr).Port)
	server := grpc.NewServer(grpc.ForceServerCodec(raw{}), grpc.UnknownServiceHandler(stall))
	panic(server.Serve(listener))
}
