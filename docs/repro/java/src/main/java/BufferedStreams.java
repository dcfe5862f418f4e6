import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * What becomes of grpc-java client calls that wait behind the server's MAX_CONCURRENT_STREAMS when
 * keepalive gives up on the connection (issue 27)? This program starts itself as a grpc-java server
 * (2 concurrent streams per connection, a server stream that sends one message and then nothing)
 * in a second JVM, makes 4 calls on one channel (keepalive 10 s, timeout 1 s), suspends the server
 * (SIGSTOP) and after 20 s prints how each call ended: the rules (A8) call for UNAVAILABLE for all.
 */
public final class BufferedStreams {
  static final MethodDescriptor.Marshaller<byte[]> BYTES =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
          return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
          try {
            return stream.readAllBytes();
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
        }
      };
  static final MethodDescriptor<byte[], byte[]> WATCH =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
          .setFullMethodName("repro.Repro/Watch")
          .setRequestMarshaller(BYTES)
          .setResponseMarshaller(BYTES)
          .build();

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("server")) {
      serve();
      return;
    }
    Process server =
        new ProcessBuilder(
                ProcessHandle.current().info().command().orElse("java"),
                "-cp",
                System.getProperty("java.class.path"),
                "BufferedStreams",
                "server")
            .redirectErrorStream(true)
            .start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream()));
      int port = Integer.parseInt(out.readLine().trim());
      ManagedChannel channel =
          NettyChannelBuilder.forAddress("127.0.0.1", port)
              .usePlaintext()
              .keepAliveTime(10, TimeUnit.SECONDS)
              .keepAliveTimeout(1, TimeUnit.SECONDS)
              .build();
      ConcurrentHashMap<Integer, String> ended = new ConcurrentHashMap<>();
      ConcurrentHashMap<Integer, Integer> messages = new ConcurrentHashMap<>();
      long start = System.nanoTime();
      for (int i = 1; i <= 4; i++) {
        final int n = i;
        ClientCall<byte[], byte[]> call = channel.newCall(WATCH, CallOptions.DEFAULT);
        call.start(
            new ClientCall.Listener<>() {
              @Override
              public void onMessage(byte[] message) {
                messages.merge(n, 1, Integer::sum);
              }

              @Override
              public void onClose(Status status, Metadata trailers) {
                ended.put(
                    n,
                    status.getCode()
                        + " \""
                        + status.getDescription()
                        + "\" at "
                        + (System.nanoTime() - start) / 1_000_000
                        + " ms");
              }
            },
            new Metadata());
        call.request(10);
        call.sendMessage(new byte[0]);
        call.halfClose();
      }
      // Until calls 1 and 2 have their message (a new JVM takes a moment to answer).
      for (int i = 0; i < 100 && messages.size() < 2; i++) Thread.sleep(50);
      Thread.sleep(200);
      System.out.println("before the stop: messages per call " + messages + " (calls 3 and 4 wait for a stream)");
      new ProcessBuilder("kill", "-STOP", Long.toString(server.pid())).start().waitFor();
      System.out.println("server suspended (SIGSTOP) at " + (System.nanoTime() - start) / 1_000_000 + " ms");
      Thread.sleep(20_000);
      for (int i = 1; i <= 4; i++) {
        System.out.println("call " + i + ": " + ended.getOrDefault(i, "still waiting at 21 s"));
      }
      channel.shutdownNow();
    } finally {
      new ProcessBuilder("kill", "-KILL", Long.toString(server.pid())).start().waitFor();
    }
    System.exit(0);
  }

  static void serve() throws Exception {
    ServerServiceDefinition service =
        ServerServiceDefinition.builder("repro.Repro")
            .addMethod(
                WATCH,
                ServerCalls.asyncServerStreamingCall(
                    (request, responses) -> responses.onNext(new byte[] {1})))
            .build();
    Server server =
        NettyServerBuilder.forPort(0).maxConcurrentCallsPerConnection(2).addService(service).build().start();
    System.out.println(server.getPort());
    server.awaitTermination();
  }
}
