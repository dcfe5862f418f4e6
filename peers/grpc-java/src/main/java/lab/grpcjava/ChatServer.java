package lab.grpcjava;

import chat.v1.Chat.ChatRequest;
import chat.v1.Chat.ChatResponse;
import chat.v1.ChatServiceGrpc;
import com.google.protobuf.Timestamp;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The Chat service on grpc-java with Netty, with the flags and printed lines of server.ts
 * (docs/flags.md) where grpc-java lets it tell.
 *
 *   java -cp target/grpc-java-lab.jar:target/lib/* lab.grpcjava.ChatServer --port 50051
 *
 * --stop-mode: ours (shutdown(): GOAWAY, streams finish within --grace-ms, the rest end
 * unavailable "server shutting down"), library-graceful (shutdown(), then
 * awaitTermination() with no time limit) or library-immediate (shutdownNow(): every call
 * cancelled, RST_STREAM(CANCEL)).
 */
public final class ChatServer {
  static final String PROGRAM = "grpc-java-server";
  static final Context.Key<String> PEER = Context.key("peer");

  private ChatServer() {}

  static List<Flags.Spec> specs() {
    return List.of(
        Flags.Spec.string("host", "address to listen on", "127.0.0.1"),
        Flags.Spec.string("port", "port to listen on; 0 picks a free one", "50051"),
        Flags.Spec.string("count", "responses per Chat stream", "3"),
        Flags.Spec.string("interval-ms", "pause between two responses", "2000"),
        Flags.Spec.string("grace-ms", "graceful-shutdown budget: in-flight streams may finish within it, the rest end unavailable", "5000"),
        Flags.Spec.string("stall-after", "stop sending after this many messages and stay silent (a stalled handler in a live process)", "never"),
        Flags.Spec.string("read-max-bytes", "largest request message accepted (maxInboundMessageSize)", "4194304"),
        Flags.Spec.string("max-streams", "concurrent streams per connection (maxConcurrentCallsPerConnection)", "16"),
        Flags.Spec.string("ping-interval-ms", "server-side keepalive: PING each connection this often; 0 turns it off", "60000"),
        Flags.Spec.string("ping-timeout-ms", "server-side keepalive: close a connection whose PING is unanswered this long", "20000"),
        Flags.Spec.string("write-stall-timeout-ms", "only 0: grpc-java keeps flow control to itself (no write-stall timeout)", "0"),
        Flags.Spec.string("max-connection-age-ms", "rotate connections: GOAWAY this long after each opened (maxConnectionAge)", "0 (off)"),
        Flags.Spec.string("max-connection-age-grace-ms", "after the age GOAWAY, how long streams may run (maxConnectionAgeGrace)", "none: until they end"),
        Flags.Spec.bool("quiet", "do not print a line per message"),
        Flags.Spec.string(
            "options",
            "grpc-java server builder settings as a JSON object, by their method names (NettyServerBuilder.permitKeepAliveTime, ...; ms); the other flags win over them",
            "none"),
        Flags.Spec.string(
            "stop-mode",
            "how SIGTERM or SIGINT stops the server: ours (a grace, then unavailable \"server shutting down\"), library-graceful (shutdown()), library-immediate (shutdownNow())",
            "ours"),
        Flags.Spec.string("tls-cert", "serve HTTP/2 over TLS (ALPN h2) with this PEM certificate chain; needs --tls-key", "none: h2c"),
        Flags.Spec.string("tls-key", "the PEM private key of --tls-cert", "none"));
  }

  public static void main(String[] args) {
    Flags.run(PROGRAM, () -> serve(Flags.parse(PROGRAM, "the Chat service on grpc-java (gRPC over h2c, or TLS with --tls-cert)", specs(), Arrays.asList(args))));
  }

  private static void serve(Flags f) {
    ServerState state = new ServerState(f);
    if (f.integer("write-stall-timeout-ms", 0, 0, Flags.MAX_SAFE) != 0) {
      throw new Flags.UsageError("--write-stall-timeout-ms: grpc-java offers no view of flow control, only 0 (off)");
    }
    String host = f.string("host", "127.0.0.1");
    long port = f.integer("port", 50051, 0, 65535);
    ServerCredentials credentials = InsecureServerCredentials.create();
    boolean cert = f.has("tls-cert");
    if (cert != f.has("tls-key")) throw new Flags.UsageError("--tls-cert and --tls-key go together");
    if (cert) {
      try {
        credentials =
            TlsServerCredentials.newBuilder()
                .keyManager(new ByteArrayInputStream(f.pem("tls-cert")), new ByteArrayInputStream(f.pem("tls-key")))
                .build();
      } catch (IOException | IllegalArgumentException e) {
        throw new Flags.UsageError("--tls-cert/--tls-key: " + e.getMessage());
      }
    }
    NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress(host, (int) port), credentials);
    configure(b, f);
    ServerInterceptor peer =
        new ServerInterceptor() {
          @Override
          public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
            SocketAddress a = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
            String who = a instanceof InetSocketAddress i ? Flags.authority(i.getAddress().getHostAddress(), i.getPort()) : String.valueOf(a);
            return Contexts.interceptCall(Context.current().withValue(PEER, who), call, headers, next);
          }
        };
    b.addService(ServerInterceptors.intercept(new Chat(state), peer));
    b.addService(new Health(state));
    Server server = b.build();
    try {
      server.start();
    } catch (IOException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (cause instanceof BindException || String.valueOf(cause.getMessage()).contains("Address already in use")) {
        throw new Flags.UsageError("--port " + port + ": " + Flags.authority(host, port) + " is already in use");
      }
      throw new Flags.UsageError("--host " + host + ": cannot listen: " + cause.getMessage());
    }
    int bound = ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
    state.handleSignals(server);
    Reporter.line(
        "listening on " + Flags.authority(host, bound) + " (pid " + ProcessHandle.current().pid() + ", grpc-java " + version() + ")");
    state.awaitForever(server);
  }

  static String version() {
    String v = Server.class.getPackage().getImplementationVersion();
    return v != null ? v : "(unknown)";
  }

  /** The flags and --options as NettyServerBuilder settings: the profile's options first, the flags given over them. */
  private static void configure(NettyServerBuilder b, Flags f) {
    Caller.Options o = new Caller.Options(f.options());
    b.maxInboundMessageSize((int) f.integer("read-max-bytes", 4 << 20, 1, Integer.MAX_VALUE));
    Long streams = o.ms("NettyServerBuilder.maxConcurrentCallsPerConnection");
    b.maxConcurrentCallsPerConnection(streams != null ? (int) (long) streams : (int) f.integer("max-streams", 16, 1, Integer.MAX_VALUE));
    boolean explicit = f.has("ping-interval-ms") || f.has("ping-timeout-ms");
    long time = f.integer("ping-interval-ms", 60000, 0, Flags.MAX_SAFE);
    long timeout = f.integer("ping-timeout-ms", 20000, 1, Flags.MAX_SAFE);
    Long optionTime = o.ms("NettyServerBuilder.keepAliveTime");
    Long optionTimeout = o.ms("NettyServerBuilder.keepAliveTimeout");
    if (!explicit && optionTime != null) time = optionTime;
    if (!explicit && optionTimeout != null) timeout = optionTimeout;
    b.keepAliveTime(time == 0 ? Long.MAX_VALUE : time, time == 0 ? TimeUnit.NANOSECONDS : TimeUnit.MILLISECONDS);
    b.keepAliveTimeout(timeout, TimeUnit.MILLISECONDS);
    Long permit = o.ms("NettyServerBuilder.permitKeepAliveTime");
    if (permit != null) b.permitKeepAliveTime(permit, TimeUnit.MILLISECONDS);
    Boolean withoutCalls = o.bool("NettyServerBuilder.permitKeepAliveWithoutCalls");
    if (withoutCalls != null) b.permitKeepAliveWithoutCalls(withoutCalls);
    Long idle = o.ms("NettyServerBuilder.maxConnectionIdle");
    if (idle != null) b.maxConnectionIdle(idle, TimeUnit.MILLISECONDS);
    Long age = o.ms("NettyServerBuilder.maxConnectionAge");
    Long ageGrace = o.ms("NettyServerBuilder.maxConnectionAgeGrace");
    long flagAge = f.integer("max-connection-age-ms", 0, 0, Flags.MAX_SAFE);
    long flagGrace = f.optional("max-connection-age-grace-ms", 0);
    if (flagAge > 0) age = flagAge;
    if (flagGrace >= 0) ageGrace = flagGrace;
    if (age != null) b.maxConnectionAge(age, TimeUnit.MILLISECONDS);
    if (ageGrace != null) b.maxConnectionAgeGrace(ageGrace, TimeUnit.MILLISECONDS);
    o.check();
  }

  /** The Chat service: lib/chat-replies.ts on a thread of grpc-java's executor. */
  static final class Chat extends ChatServiceGrpc.ChatServiceImplBase {
    private final ServerState state;

    Chat(ServerState state) {
      this.state = state;
    }

    @Override
    public void chat(ChatRequest request, StreamObserver<ChatResponse> observer) {
      ServerCallStreamObserver<ChatResponse> call = (ServerCallStreamObserver<ChatResponse>) observer;
      ServerState.Stream st = state.start(PEER.get(), "grpc");
      Context context = Context.current();
      call.setOnCancelHandler(st::wake);
      String outcome;
      try {
        outcome =
            st.replies(
                request.getName(),
                request.getText(),
                call::isCancelled,
                (index, text, sentAt) ->
                    call.onNext(
                        ChatResponse.newBuilder()
                            .setIndex(index)
                            .setText(text)
                            .setSentAt(Timestamp.newBuilder().setSeconds(sentAt.getEpochSecond()).setNanos(sentAt.getNano()))
                            .build()));
      } catch (RuntimeException e) {
        outcome = call.isCancelled() ? "cancelled" : "failed: " + e;
      }
      switch (outcome) {
        case "ok" -> {
          call.onCompleted();
          st.end("ok", "", false);
        }
        case "shutting down" -> {
          call.onError(Status.UNAVAILABLE.withDescription(ServerState.SHUTTING_DOWN).asRuntimeException());
          st.end("unavailable", ServerState.SHUTTING_DOWN, false);
        }
        default -> {
          // Cancelled: the client reset the stream, its connection was lost, or its deadline passed.
          boolean expired = context.getDeadline() != null && context.getDeadline().isExpired();
          if (expired) st.end("deadline_exceeded", "", false);
          else st.end("canceled", "", true);
        }
      }
    }
  }

  /** grpc.health.v1.Health as the lab's Node servers serve it (lib/health-status.ts). */
  static final class Health extends HealthGrpc.HealthImplBase {
    private final ServerState state;

    Health(ServerState state) {
      this.state = state;
    }

    @Override
    public void check(HealthCheckRequest request, StreamObserver<HealthCheckResponse> observer) {
      Integer st = state.status(request.getService());
      if (st == null) {
        observer.onError(Status.NOT_FOUND.withDescription("unknown service \"" + request.getService() + "\"").asRuntimeException());
        return;
      }
      observer.onNext(HealthCheckResponse.newBuilder().setStatusValue(st).build());
      observer.onCompleted();
    }

    @Override
    public void watch(HealthCheckRequest request, StreamObserver<HealthCheckResponse> observer) {
      ServerCallStreamObserver<HealthCheckResponse> call = (ServerCallStreamObserver<HealthCheckResponse>) observer;
      Object wake = new Object();
      call.setOnCancelHandler(() -> {
        synchronized (wake) {
          wake.notifyAll();
        }
      });
      int last = -1;
      while (!call.isCancelled()) {
        ServerState.Snapshot now = state.snapshot(request.getService());
        if (now.status() != last) {
          last = now.status();
          call.onNext(HealthCheckResponse.newBuilder().setStatusValue(last).build());
          continue;
        }
        if (now.draining()) {
          call.onError(Status.UNAVAILABLE.withDescription(ServerState.SHUTTING_DOWN).asRuntimeException());
          return;
        }
        state.awaitChange(now.version(), 1000);
      }
    }
  }
}
