module connectlab.dev/connect-go

go 1.26.0

replace connectlab.dev/golab => ../golab

require connectlab.dev/golab v0.0.0

require (
	connectrpc.com/connect v1.21.1 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

tool (
	connectrpc.com/connect/cmd/protoc-gen-connect-go
	google.golang.org/protobuf/cmd/protoc-gen-go
)
