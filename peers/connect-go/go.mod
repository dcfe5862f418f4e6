module connectlab.dev/connect-go

go 1.26.0

replace connectlab.dev/golab => ../golab

require (
	connectlab.dev/golab v0.0.0
	connectrpc.com/connect v1.21.1
	google.golang.org/protobuf v1.36.12
)

tool (
	connectrpc.com/connect/cmd/protoc-gen-connect-go
	google.golang.org/protobuf/cmd/protoc-gen-go
)
