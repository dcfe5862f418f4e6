package golab

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// DynamicCall is a call to a method the project's code does not know (issue 28: the user's own
// service), made from its schema: --method pkg.v1.Service/Method, --request in protobuf's JSON
// form and --descriptor-set, a binary FileDescriptorSet with its imports (lib/dynamic-call.ts).
type DynamicCall struct {
	// Path is the method's HTTP/2 path, "/pkg.v1.Service/Method".
	Path string
	// Desc is the method: its kind and its messages.
	Desc protoreflect.MethodDescriptor
	// Request is --request, parsed as the method's input.
	Request proto.Message
}

// ClientStreams and ServerStreams are the method's kind (a bidi method streams both).
func (d *DynamicCall) ClientStreams() bool { return d.Desc.IsStreamingClient() }
func (d *DynamicCall) ServerStreams() bool { return d.Desc.IsStreamingServer() }

// NewResponse is an empty message of the method's output type, to decode a response into.
func (d *DynamicCall) NewResponse() *dynamicpb.Message { return dynamicpb.NewMessage(d.Desc.Output()) }

// Describe is a response as the report shows it: its JSON form on one line, at most 300 characters.
func Describe(m proto.Message) string {
	text, err := protojson.MarshalOptions{}.Marshal(m)
	if err != nil {
		return err.Error()
	}
	s := strings.Join(strings.Fields(string(text)), " ")
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// schemas keeps each descriptor set's files once: an agent makes many calls from one file.
var schemas sync.Map

func readSchema(path string) (*protoregistry.Files, error) {
	if files, ok := schemas.Load(path); ok {
		return files.(*protoregistry.Files), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Usagef("--descriptor-set: cannot read %s: %s", path, unwrapPathError(err))
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(data, &set); err != nil {
		return nil, Usagef("--descriptor-set: %s is not a FileDescriptorSet: %s", path, err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, Usagef("--descriptor-set: %s is not a FileDescriptorSet with its imports: %s", path, err)
	}
	schemas.Store(path, files)
	return files, nil
}

func unwrapPathError(err error) string {
	if e, ok := err.(*os.PathError); ok {
		return e.Err.Error()
	}
	return err.Error()
}

// ReadDynamicCall checks --method and --request against --descriptor-set; a UsageError says what is wrong.
func ReadDynamicCall(method, request, descriptorSet string) (*DynamicCall, error) {
	files, err := readSchema(descriptorSet)
	if err != nil {
		return nil, err
	}
	service, name, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	var desc protoreflect.MethodDescriptor
	if d, err := files.FindDescriptorByName(protoreflect.FullName(service)); err == nil {
		if s, ok := d.(protoreflect.ServiceDescriptor); ok {
			desc = s.Methods().ByName(protoreflect.Name(name))
		}
	}
	if desc == nil {
		var known []string
		files.RangeFiles(func(f protoreflect.FileDescriptor) bool {
			for i := 0; i < f.Services().Len(); i++ {
				s := f.Services().Get(i)
				for j := 0; j < s.Methods().Len(); j++ {
					known = append(known, fmt.Sprintf("%s/%s", s.FullName(), s.Methods().Get(j).Name()))
				}
			}
			return true
		})
		if len(known) > 8 {
			known = known[:8]
		}
		list := strings.Join(known, ", ")
		if list == "" {
			list = "no service"
		}
		return nil, Usagef("--method %s: not in the schema (it has %s)", method, list)
	}
	input := dynamicpb.NewMessage(desc.Input())
	if err := protojson.Unmarshal([]byte(request), input); err != nil {
		return nil, Usagef("--request is not a %s: %s", desc.Input().FullName(), strings.SplitN(err.Error(), "\n", 2)[0])
	}
	return &DynamicCall{Path: fmt.Sprintf("/%s/%s", service, name), Desc: desc, Request: input}, nil
}
