package lab.grpcjava;

import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A call to a method the project's code does not know (issue 28: the user's own service), made
 * from its schema: --method pkg.v1.Service/Method, --request in protobuf's JSON form and
 * --descriptor-set, a binary FileDescriptorSet with its imports (lib/dynamic-call.ts).
 */
final class DynamicCall {
  /** Each descriptor set's services once, by full name: an agent makes many calls from one file. */
  private static final Map<String, Map<String, ServiceDescriptor>> schemas = new ConcurrentHashMap<>();

  final MethodDescriptor method;
  final DynamicMessage request;
  final io.grpc.MethodDescriptor<DynamicMessage, DynamicMessage> grpcMethod;

  private DynamicCall(MethodDescriptor method, DynamicMessage request) {
    this.method = method;
    this.request = request;
    io.grpc.MethodDescriptor.MethodType type =
        method.isClientStreaming()
            ? method.isServerStreaming() ? io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING : io.grpc.MethodDescriptor.MethodType.CLIENT_STREAMING
            : method.isServerStreaming() ? io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING : io.grpc.MethodDescriptor.MethodType.UNARY;
    this.grpcMethod =
        io.grpc.MethodDescriptor.<DynamicMessage, DynamicMessage>newBuilder()
            .setType(type)
            .setFullMethodName(io.grpc.MethodDescriptor.generateFullMethodName(method.getService().getFullName(), method.getName()))
            .setRequestMarshaller(new Marshaller(method.getInputType()))
            .setResponseMarshaller(new Marshaller(method.getOutputType()))
            .build();
  }

  /** Checks --method and --request against --descriptor-set; a UsageError says what is wrong. */
  static DynamicCall read(String method, String requestJson, String descriptorSet) {
    Map<String, ServiceDescriptor> services = schemas.computeIfAbsent(descriptorSet, DynamicCall::readSchema);
    String[] parts = method.replaceFirst("^/", "").split("/", 2);
    ServiceDescriptor service = services.get(parts[0]);
    MethodDescriptor desc = service == null || parts.length < 2 ? null : service.findMethodByName(parts[1]);
    if (desc == null) {
      List<String> known = new ArrayList<>();
      for (ServiceDescriptor s : services.values()) for (MethodDescriptor m : s.getMethods()) known.add(s.getFullName() + "/" + m.getName());
      String list = known.isEmpty() ? "no service" : String.join(", ", known.subList(0, Math.min(8, known.size())));
      throw new Flags.UsageError("--method " + method + ": not in the schema (it has " + list + ")");
    }
    DynamicMessage.Builder request = DynamicMessage.newBuilder(desc.getInputType());
    try {
      JsonFormat.parser().merge(requestJson, request);
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      throw new Flags.UsageError("--request is not a " + desc.getInputType().getFullName() + ": " + firstLine(e.getMessage()));
    }
    return new DynamicCall(desc, request.build());
  }

  /** A response as the report shows it: its JSON form on one line, at most 300 characters. */
  static String describe(DynamicMessage m) {
    try {
      String text = JsonFormat.printer().omittingInsignificantWhitespace().print(m);
      return text.length() > 300 ? text.substring(0, 300) : text;
    } catch (InvalidProtocolBufferException e) {
      return e.getMessage();
    }
  }

  private static Map<String, ServiceDescriptor> readSchema(String path) {
    FileDescriptorSet set;
    try {
      set = FileDescriptorSet.parseFrom(Files.readAllBytes(Path.of(path)));
    } catch (NoSuchFileException e) {
      throw new Flags.UsageError("--descriptor-set: cannot read " + path + ": No such file or directory");
    } catch (IOException e) {
      throw new Flags.UsageError("--descriptor-set: " + path + " is not a FileDescriptorSet: " + firstLine(e.getMessage()));
    }
    Map<String, FileDescriptorProto> protos = new HashMap<>();
    for (FileDescriptorProto p : set.getFileList()) protos.put(p.getName(), p);
    Map<String, FileDescriptor> built = new HashMap<>();
    Map<String, ServiceDescriptor> services = new LinkedHashMap<>();
    for (FileDescriptorProto p : set.getFileList()) {
      for (ServiceDescriptor s : build(p.getName(), protos, built, path).getServices()) services.put(s.getFullName(), s);
    }
    return services;
  }

  /** A file with its imports built first (a set's files may come in any order). */
  private static FileDescriptor build(String name, Map<String, FileDescriptorProto> protos, Map<String, FileDescriptor> built, String path) {
    FileDescriptor done = built.get(name);
    if (done != null) return done;
    FileDescriptorProto proto = protos.get(name);
    if (proto == null) throw new Flags.UsageError("--descriptor-set: " + path + " is not a FileDescriptorSet with its imports: " + name + " is missing");
    List<FileDescriptor> deps = new ArrayList<>();
    for (String dep : proto.getDependencyList()) deps.add(build(dep, protos, built, path));
    try {
      FileDescriptor file = FileDescriptor.buildFrom(proto, deps.toArray(new FileDescriptor[0]));
      built.put(name, file);
      return file;
    } catch (DescriptorValidationException e) {
      throw new Flags.UsageError("--descriptor-set: " + path + " is not a FileDescriptorSet with its imports: " + firstLine(e.getMessage()));
    }
  }

  private static String firstLine(String s) {
    return s == null ? "" : s.split("\n", 2)[0];
  }

  /** Messages of one type, to and from the wire. */
  private record Marshaller(com.google.protobuf.Descriptors.Descriptor type) implements io.grpc.MethodDescriptor.Marshaller<DynamicMessage> {
    @Override
    public InputStream stream(DynamicMessage value) {
      return value.toByteString().newInput();
    }

    @Override
    public DynamicMessage parse(InputStream stream) {
      try {
        return DynamicMessage.parseFrom(type, stream);
      } catch (IOException e) {
        throw Status.INTERNAL.withDescription("cannot decode a " + type.getFullName() + ": " + e.getMessage()).withCause(e).asRuntimeException();
      }
    }
  }
}
