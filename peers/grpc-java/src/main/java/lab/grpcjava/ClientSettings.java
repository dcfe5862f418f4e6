package lab.grpcjava;

import java.util.List;
import java.util.Map;

/** A client's flags, read and checked (lib/client-flags.ts ClientSettings); -1: not given. */
final class ClientSettings implements Cloneable {
  static final List<String> CALL_FLAGS =
      List.of("name", "text", "timeout-ms", "wait-for-ready", "health", "watch-health", "health-service");

  String method = "chat";
  /** --method's call from its schema (method "dynamic"), else null. */
  DynamicCall dynamic;
  String healthService = "";
  String host = "127.0.0.1";
  long port = 50051;
  String protocol = "grpc";
  String name = "alice";
  String text = "are you there?";
  long pingIntervalMs = -1;
  long pingTimeoutMs = -1;
  long timeoutMs = -1;
  long idleTimeoutMs = -1;
  String target = "";
  String lbPolicy = "";
  boolean pingIdle;
  boolean healthCheck;
  boolean waitForReady;
  long retryAttempts = 1;
  Map<String, Object> options = Map.of();
  byte[] tlsCa;
  long calls = 1;
  long callGapMs;
  boolean json;
  boolean agent;

  static List<Flags.Spec> specs() {
    return List.of(
        Flags.Spec.string("host", "server address", "127.0.0.1"),
        Flags.Spec.string("port", "server port", "50051"),
        Flags.Spec.string("protocol", "wire protocol: grpc (grpc-java speaks gRPC only)", "grpc"),
        Flags.Spec.string("name", "name sent in the request", "alice"),
        Flags.Spec.string("text", "text sent in the request", "are you there?"),
        Flags.Spec.string(
            "ping-interval-ms",
            "HTTP/2 keepalive: PING after this long without data (grpc-java raises less than 10000 to 10000)",
            "off"),
        Flags.Spec.string(
            "ping-timeout-ms", "HTTP/2 keepalive: connection dead if a PING is unanswered this long", "20000 (grpc-java's)"),
        Flags.Spec.string("timeout-ms", "deadline for the whole call", "none"),
        Flags.Spec.string(
            "idle-timeout-ms", "abort the stream (deadline_exceeded) when no message came for this long", "none"),
        Flags.Spec.bool("health", "instead of Chat, ask grpc.health.v1.Health/Check once; exit 0 only if SERVING"),
        Flags.Spec.bool(
            "watch-health", "instead of Chat, call grpc.health.v1.Health/Watch and print each status until the stream ends"),
        Flags.Spec.string("health-service", "service to ask --health or --watch-health about", "\"\" (the whole server)"),
        Flags.Spec.string(
            "method", "instead of Chat, call this method of your own service, pkg.v1.Service/Method, from --descriptor-set (issue 28)", "none"),
        Flags.Spec.string("request", "--method's request in protobuf's JSON form", "{}"),
        Flags.Spec.string("descriptor-set", "--method's schema: a binary FileDescriptorSet with imports (buf build -o FILE)", "none"),
        Flags.Spec.string(
            "target",
            "a gRPC target instead of --host and --port, several addresses behind one name: ipv4:127.0.0.1:P1,127.0.0.2:P2",
            "none"),
        Flags.Spec.string("lb-policy", "how a --target's addresses share the calls: pick_first, round_robin", "pick_first (the libraries')"),
        Flags.Spec.bool("ping-idle", "keepalive PINGs also while no call is open (keepAliveWithoutCalls)"),
        Flags.Spec.bool("health-check", "client-side health checking: healthCheckConfig {serviceName: \"\"} in the service config"),
        Flags.Spec.bool("wait-for-ready", "a call waits for the channel to be ready instead of failing at once"),
        Flags.Spec.string(
            "retry", "attempts in all for a call that fails unavailable before its first message: a retry policy in the service config", "1 (no retry)"),
        Flags.Spec.string(
            "options",
            "grpc-java channel builder settings as a JSON object, by their method names (NettyChannelBuilder.keepAliveTime, ...; ms); the other flags win over them",
            "none"),
        Flags.Spec.string("tls-ca", "speak HTTP/2 over TLS (ALPN h2), trusting the server certificates this PEM CA signed", "none: h2c"),
        Flags.Spec.string("calls", "calls to make one after another on the same channel", "1"),
        Flags.Spec.string("call-gap-ms", "pause between two calls", "0"),
        Flags.Spec.bool("json", "print the result as one JSON object on the last stdout line"),
        Flags.Spec.bool("agent", "serve many calls from stdin, one JSON command per line: the lab's client agent (docs/agent-protocol.md)"));
  }

  static ClientSettings read(Flags f) {
    if (f.has("health") && f.has("watch-health")) throw new Flags.UsageError("--health and --watch-health: choose one");
    ClientSettings s = new ClientSettings();
    s.method = f.has("health") ? "health-check" : f.has("watch-health") ? "health-watch" : f.has("method") ? "dynamic" : "chat";
    if (s.method.equals("dynamic")) {
      if (!f.has("descriptor-set")) throw new Flags.UsageError("--method needs --descriptor-set FILE");
      s.dynamic = DynamicCall.read(f.string("method", ""), f.string("request", "{}"), f.string("descriptor-set", ""));
    }
    s.healthService = f.string("health-service", "");
    s.host = f.string("host", "127.0.0.1");
    s.port = f.integer("port", 50051, 1, 65535);
    s.protocol = f.choice("protocol", List.of("grpc"), "grpc");
    s.name = f.string("name", "alice");
    s.text = f.string("text", "are you there?");
    s.pingIntervalMs = f.optional("ping-interval-ms", 1);
    s.pingTimeoutMs = f.optional("ping-timeout-ms", 1);
    s.timeoutMs = f.optional("timeout-ms", 1);
    s.idleTimeoutMs = f.optional("idle-timeout-ms", 1);
    s.target = f.string("target", "");
    s.lbPolicy = f.has("lb-policy") ? f.choice("lb-policy", List.of("pick_first", "round_robin"), "pick_first") : "";
    s.pingIdle = f.has("ping-idle");
    s.healthCheck = f.has("health-check");
    s.waitForReady = f.has("wait-for-ready");
    s.retryAttempts = f.integer("retry", 1, 1, 10);
    s.options = f.options();
    s.tlsCa = f.has("tls-ca") ? f.pem("tls-ca") : null;
    s.calls = f.integer("calls", 1, 1, 1000);
    s.callGapMs = f.integer("call-gap-ms", 0, 0, Flags.MAX_SAFE);
    s.json = f.has("json");
    s.agent = f.has("agent");
    return s;
  }

  String address() {
    return target.isEmpty() ? Flags.authority(host, port) : target;
  }

  @Override
  public ClientSettings clone() {
    try {
      return (ClientSettings) super.clone();
    } catch (CloneNotSupportedException e) {
      throw new AssertionError(e);
    }
  }
}
