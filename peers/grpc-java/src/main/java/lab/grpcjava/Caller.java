package lab.grpcjava;

import chat.v1.Chat.ChatRequest;
import chat.v1.Chat.ChatResponse;
import chat.v1.ChatServiceGrpc;
import com.google.protobuf.DynamicMessage;
import io.grpc.CallOptions;
import io.grpc.ChannelCredentials;
import io.grpc.ClientCall;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.netty.channel.ChannelOption;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Calls with grpc-java on one ManagedChannel of its own (grpc-java shares no connection
 * between channels): the flags and --options as NettyChannelBuilder settings, the
 * profile's options under the flags (a flag is the case's remedy).
 */
final class Caller {
  /** How a call ended: its status number, message, and for a health Check whether it was not SERVING. */
  record End(int code, String message, boolean unhealthy) {}

  private final ManagedChannel channel;

  Caller(ClientSettings s) {
    Options o = new Options(s.options);
    ChannelCredentials credentials;
    if (s.tlsCa != null) {
      try {
        credentials = TlsChannelCredentials.newBuilder().trustManager(new ByteArrayInputStream(s.tlsCa)).build();
      } catch (IOException e) {
        throw new Flags.UsageError("--tls-ca: " + e.getMessage());
      }
    } else {
      credentials = InsecureChannelCredentials.create();
    }
    NettyChannelBuilder b =
        s.target.isEmpty()
            ? NettyChannelBuilder.forAddress(s.host, (int) s.port, credentials)
            : NettyChannelBuilder.forTarget(s.target, credentials);
    if (!s.target.isEmpty()) b.overrideAuthority("localhost"); // as lib/grpc-js-caller.ts targetAuthority
    Long time = o.ms("NettyChannelBuilder.keepAliveTime");
    Long timeout = o.ms("NettyChannelBuilder.keepAliveTimeout");
    Boolean idle = o.bool("NettyChannelBuilder.keepAliveWithoutCalls");
    if (s.pingIntervalMs > 0) time = s.pingIntervalMs;
    if (s.pingTimeoutMs > 0) timeout = s.pingTimeoutMs;
    if (s.pingIdle) idle = true;
    // grpc-java raises a keepalive time under 10 s to 10 s (KeepAliveManager): given as asked.
    if (time != null) b.keepAliveTime(time, TimeUnit.MILLISECONDS);
    if (timeout != null) b.keepAliveTimeout(timeout, TimeUnit.MILLISECONDS);
    if (idle != null) b.keepAliveWithoutCalls(idle);
    Long idleTimeout = o.ms("NettyChannelBuilder.idleTimeout");
    if (idleTimeout != null) b.idleTimeout(idleTimeout, TimeUnit.MILLISECONDS);
    Long connectTimeout = o.ms("ChannelOption.CONNECT_TIMEOUT_MILLIS");
    if (connectTimeout != null) b.withOption(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) (long) connectTimeout);
    Map<String, Object> config = ServiceConfig.merge(o.raw("NettyChannelBuilder.defaultServiceConfig"), ServiceConfig.of(s));
    if (config != null) b.defaultServiceConfig(ServiceConfig.forGrpcJava(config));
    Boolean retry = o.bool("NettyChannelBuilder.enableRetry");
    if (retry != null && !retry) b.disableRetry();
    else b.enableRetry();
    o.check();
    channel = b.build();
  }

  void close() {
    channel.shutdownNow();
  }

  /** Makes one call as `s` says; `cancel` receives the way to end it from outside. */
  CompletableFuture<End> call(ClientSettings s, Reporter r, AtomicReference<Runnable> cancel) {
    CompletableFuture<End> done = new CompletableFuture<>();
    boolean[] unhealthy = {false};
    int[] index = {0};
    class Observer<Q, A> implements ClientResponseObserver<Q, A> {
      final java.util.function.Consumer<A> onMessage;

      Observer(java.util.function.Consumer<A> onMessage) {
        this.onMessage = onMessage;
      }

      @Override
      public void beforeStart(ClientCallStreamObserver<Q> call) {
        cancel.set(() -> call.cancel("cancelled", null));
      }

      @Override
      public void onNext(A value) {
        onMessage.accept(value);
      }

      @Override
      public void onError(Throwable t) {
        Status st = Status.fromThrowable(t);
        String description = st.getDescription() == null ? "" : st.getDescription();
        done.complete(new End(st.getCode().value(), description, false));
      }

      @Override
      public void onCompleted() {
        done.complete(new End(0, "", unhealthy[0]));
      }
    }
    HealthCheckRequest health = HealthCheckRequest.newBuilder().setService(s.healthService).build();
    switch (s.method) {
      case "health-check" ->
          configure(HealthGrpc.newStub(channel), s)
              .check(
                  health,
                  new Observer<HealthCheckRequest, HealthCheckResponse>(
                      m -> {
                        unhealthy[0] = m.getStatus() != HealthCheckResponse.ServingStatus.SERVING;
                        r.message(1, m.getStatus().name(), null);
                      }));
      case "health-watch" ->
          configure(HealthGrpc.newStub(channel), s)
              .watch(
                  health,
                  new Observer<HealthCheckRequest, HealthCheckResponse>(m -> r.message(++index[0], m.getStatus().name(), null)));
      case "dynamic" -> dynamic(s, new Observer<DynamicMessage, DynamicMessage>(m -> r.message(++index[0], DynamicCall.describe(m), null)));
      default ->
          configure(ChatServiceGrpc.newStub(channel), s)
              .chat(
                  ChatRequest.newBuilder().setName(s.name).setText(s.text).build(),
                  new Observer<ChatRequest, ChatResponse>(
                      m ->
                          r.message(
                              m.getIndex(),
                              m.getText(),
                              m.hasSentAt() ? Instant.ofEpochSecond(m.getSentAt().getSeconds(), m.getSentAt().getNanos()) : null)));
    }
    return done;
  }

  /**
   * A call from the user's schema on the channel, with the deadline and wait-for-ready a stub would
   * have: one request; a bidi call keeps its send side open until the call ends, as a client that
   * may still send would (lib/dynamic-call.ts requestStream).
   */
  private void dynamic(ClientSettings s, ClientResponseObserver<DynamicMessage, DynamicMessage> observer) {
    CallOptions options = CallOptions.DEFAULT;
    if (s.timeoutMs > 0) options = options.withDeadlineAfter(s.timeoutMs, TimeUnit.MILLISECONDS);
    if (s.waitForReady) options = options.withWaitForReady();
    DynamicCall d = s.dynamic;
    ClientCall<DynamicMessage, DynamicMessage> call = channel.newCall(d.grpcMethod, options);
    switch (d.grpcMethod.getType()) {
      case UNARY -> ClientCalls.asyncUnaryCall(call, d.request, observer);
      case SERVER_STREAMING -> ClientCalls.asyncServerStreamingCall(call, d.request, observer);
      case CLIENT_STREAMING -> {
        var requests = ClientCalls.asyncClientStreamingCall(call, observer);
        requests.onNext(d.request);
        requests.onCompleted();
      }
      default -> ClientCalls.asyncBidiStreamingCall(call, observer).onNext(d.request);
    }
  }

  private static <T extends AbstractStub<T>> T configure(T stub, ClientSettings s) {
    if (s.timeoutMs > 0) stub = stub.withDeadlineAfter(s.timeoutMs, TimeUnit.MILLISECONDS);
    if (s.waitForReady) stub = stub.withWaitForReady();
    return stub;
  }

  /** The channel builder settings of --options, by their names; each read marks the name used. */
  static final class Options {
    private final Map<String, Object> m;
    private final List<String> used = new ArrayList<>();

    Options(Map<String, Object> m) {
      this.m = m;
    }

    Object raw(String name) {
      used.add(name);
      return m.get(name);
    }

    Long ms(String name) {
      Object v = raw(name);
      if (v == null) return null;
      if (v instanceof Number n && n.doubleValue() >= 0 && n.doubleValue() == Math.rint(n.doubleValue())) return n.longValue();
      throw new Flags.UsageError("--options: \"" + name + "\" must be a whole number >= 0, got " + v);
    }

    Boolean bool(String name) {
      Object v = raw(name);
      if (v == null) return null;
      if (v instanceof Boolean b) return b;
      if (v instanceof Number n) return n.doubleValue() != 0;
      throw new Flags.UsageError("--options: \"" + name + "\" must be true or false, got " + v);
    }

    void check() {
      for (String name : m.keySet()) {
        if (!used.contains(name)) throw new Flags.UsageError("--options: this program does not pass \"" + name + "\" to grpc-java");
      }
    }
  }

  /** The gRPC service config the flags ask for (lib/grpc-js-caller.ts grpcServiceConfig). */
  static final class ServiceConfig {
    static Map<String, Object> of(ClientSettings s) {
      if (s.lbPolicy.isEmpty() && s.retryAttempts <= 1 && !s.healthCheck) return null;
      Map<String, Object> config = new LinkedHashMap<>();
      if (!s.lbPolicy.isEmpty()) config.put("loadBalancingConfig", List.of(Map.of(s.lbPolicy, Map.of())));
      if (s.healthCheck) config.put("healthCheckConfig", Map.of("serviceName", ""));
      if (s.retryAttempts > 1) {
        Map<String, Object> policy = new LinkedHashMap<>();
        policy.put("maxAttempts", s.retryAttempts);
        policy.put("initialBackoff", "0.25s");
        policy.put("maxBackoff", "2s");
        policy.put("backoffMultiplier", 2);
        policy.put("retryableStatusCodes", List.of("UNAVAILABLE"));
        Map<String, Object> method = new LinkedHashMap<>();
        method.put("name", List.of(Map.of("service", "chat.v1.ChatService"), Map.of("service", "grpc.health.v1.Health")));
        method.put("retryPolicy", policy);
        config.put("methodConfig", List.of(method));
      }
      return config;
    }

    /** The program's config into the user's (lib/library-options.ts mergeServiceConfig). */
    @SuppressWarnings("unchecked")
    static Map<String, Object> merge(Object user, Map<String, Object> own) {
      Map<String, Object> base = user instanceof String text ? (Map<String, Object>) Json.parse(text) : (Map<String, Object>) user;
      if (base == null) return own;
      if (own == null) return base;
      Map<String, Object> merged = new LinkedHashMap<>(base);
      own.forEach((k, v) -> {
        if (!k.equals("methodConfig")) merged.put(k, v);
      });
      List<Object> ownMethods = (List<Object>) own.get("methodConfig");
      if (ownMethods == null || ownMethods.isEmpty()) return merged;
      Map<String, Object> first = (Map<String, Object>) ownMethods.get(0);
      List<Object> out = new ArrayList<>();
      List<String> named = new ArrayList<>();
      for (Object m : (List<Object>) base.getOrDefault("methodConfig", List.of())) {
        Map<String, Object> entry = new LinkedHashMap<>((Map<String, Object>) m);
        first.forEach((k, v) -> {
          if (!k.equals("name")) entry.put(k, v);
        });
        for (Object n : (List<Object>) entry.getOrDefault("name", List.of())) named.add(Json.write(n));
        out.add(entry);
      }
      List<Object> rest = new ArrayList<>();
      for (Object n : (List<Object>) first.get("name")) if (!named.contains(Json.write(n))) rest.add(n);
      if (!rest.isEmpty()) {
        Map<String, Object> entry = new LinkedHashMap<>(first);
        entry.put("name", rest);
        out.add(entry);
      }
      merged.put("methodConfig", out);
      return merged;
    }

    /** grpc-java reads a service config's numbers as Double only (its JsonUtil). */
    @SuppressWarnings("unchecked")
    static Map<String, ?> forGrpcJava(Map<String, Object> config) {
      return (Map<String, ?>) doubles(config);
    }

    private static Object doubles(Object v) {
      if (v instanceof Map<?, ?> map) {
        Map<String, Object> out = new LinkedHashMap<>();
        map.forEach((k, x) -> out.put((String) k, doubles(x)));
        return out;
      }
      if (v instanceof List<?> list) return list.stream().map(ServiceConfig::doubles).toList();
      if (v instanceof Number n) return n.doubleValue();
      return v;
    }
  }

  static {
    // Before any channel: the ipv4: scheme of gRPC core and grpc-js, for --target.
    Ipv4Resolver.register();
  }
}
