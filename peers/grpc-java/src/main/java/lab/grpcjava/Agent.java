package lab.grpcjava;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The lab's client agent (docs/agent-protocol.md): calls from stdin, each on a channel of
 * its own or on a channel the lab opened; events on stdout, one JSON object per line. One
 * JVM serves every call of the run: a JVM's start costs about a second of CPU.
 */
final class Agent {
  private final Map<String, ChatClient.Interrupt> running = new ConcurrentHashMap<>();
  private final Map<String, Channel> channels = new ConcurrentHashMap<>();
  private final ArrayDeque<Double> lateness = new ArrayDeque<>();
  private final ExecutorService calls = Executors.newCachedThreadPool();
  private int callCount;

  record Channel(Caller caller, ClientSettings settings) {}

  static void run() {
    new Agent().serve();
  }

  private static String version() {
    Package p = io.grpc.ManagedChannel.class.getPackage();
    String v = p.getImplementationVersion();
    return v != null ? v : System.getProperty("lab.grpc.version", "(unknown)");
  }

  private void serve() {
    // Ctrl-C reaches the whole process group; the lab ends its agents itself.
    sun.misc.Signal.handle(new sun.misc.Signal("INT"), sig -> {});
    Thread watch = new Thread(this::watchLateness, "lateness");
    watch.setDaemon(true);
    watch.start();
    Map<String, Object> ready = new LinkedHashMap<>();
    ready.put("event", "ready");
    ready.put("client", "grpc-java");
    ready.put("pid", ProcessHandle.current().pid());
    ready.put("library", "io.grpc:grpc-netty " + version());
    send(ready);
    try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      for (String line; (line = in.readLine()) != null; ) onLine(line);
    } catch (java.io.IOException e) {
      // stdin is gone: so is the lab.
    }
    // The lab is gone (or done): so is the agent, whatever calls are still open.
    Runtime.getRuntime().halt(0);
  }

  /**
   * How late a 20 ms timer runs: calls sharing this JVM must not delay one another. Every 20 ms,
   * not 5: the watch itself must not cost the idle agent much CPU (issue 29).
   */
  private void watchLateness() {
    for (; ; ) {
      long before = System.nanoTime();
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        return;
      }
      double late = (System.nanoTime() - before) / 1e6 - 20;
      synchronized (lateness) {
        if (lateness.size() >= 20000) lateness.pollFirst();
        lateness.addLast(Math.max(0, late));
      }
    }
  }

  static synchronized void send(Map<String, Object> event) {
    Reporter.line(Json.write(event));
  }

  private static Map<String, Object> event(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
    return m;
  }

  private void fail(String id, String message) {
    send(event("id", id, "event", "error", "message", message));
  }

  @SuppressWarnings("unchecked")
  private void onLine(String line) {
    Object parsed;
    try {
      parsed = Json.parse(line);
    } catch (RuntimeException e) {
      parsed = null;
    }
    if (!(parsed instanceof Map<?, ?>)) {
      send(event("event", "error", "message", "not a JSON command: " + line.substring(0, Math.min(80, line.length()))));
      return;
    }
    Map<String, Object> c = (Map<String, Object>) parsed;
    String id = c.get("id") instanceof String s ? s : "";
    Object op = c.get("op");
    switch (op instanceof String s ? s : "") {
      case "call" -> {
        if (id.isEmpty() || running.containsKey(id)) {
          fail(id, "call needs a new id");
          return;
        }
        call(id, c.get("args"), c.get("channel") instanceof String ch ? ch : null);
      }
      case "cancel" -> {
        ChatClient.Interrupt interrupt = running.get(id);
        if (interrupt != null) interrupt.fire("cancelled by the agent's cancel command");
      }
      case "open" -> open(id, c.get("args"));
      case "close" -> {
        Channel ch = channels.remove(id);
        if (ch == null) {
          fail(id, "no open channel \"" + id + "\"");
          return;
        }
        calls.submit(ch.caller()::close);
        send(event("id", id, "event", "closed"));
      }
      case "stats" -> {
        List<Double> ordered;
        synchronized (lateness) {
          ordered = new ArrayList<>(lateness);
        }
        Collections.sort(ordered);
        if (ordered.isEmpty()) ordered.add(0.0);
        List<Double> o = ordered;
        java.util.function.DoubleUnaryOperator pick =
            q -> Math.round(o.get(Math.min(o.size() - 1, (int) (q * o.size()))) * 100) / 100.0;
        send(
            event(
                "event", "stats",
                "eventLoopDelayMs", event("p50", pick.applyAsDouble(0.5), "p99", pick.applyAsDouble(0.99), "max", pick.applyAsDouble(1)),
                "calls", callCount));
      }
      default -> fail(id, "unknown op " + Json.write(op));
    }
  }

  /** A command's flags, or null after saying why they are refused. */
  private Flags flagsOf(String id, Object raw, boolean callOnly) {
    List<String> args = new ArrayList<>();
    boolean ok = raw instanceof List<?>;
    if (ok) {
      for (Object v : (List<?>) raw) {
        if (v instanceof String s) args.add(s);
        else ok = false;
      }
    }
    if (!ok) {
      fail(id, "args must be a list of strings");
      return null;
    }
    if (args.stream().anyMatch(a -> a.equals("--agent") || a.equals("--help") || a.equals("-h"))) {
      fail(id, "--agent and --help are not call flags");
      return null;
    }
    List<Flags.Spec> specs =
        callOnly
            ? ClientSettings.specs().stream().filter(spec -> ClientSettings.CALL_FLAGS.contains(spec.name())).toList()
            : ClientSettings.specs();
    try {
      return Flags.parse(ChatClient.PROGRAM, "", specs, args);
    } catch (Flags.UsageError e) {
      fail(id, e.getMessage());
      return null;
    }
  }

  private void call(String id, Object args, String channelId) {
    Channel ch = null;
    if (channelId != null) {
      ch = channels.get(channelId);
      if (ch == null) {
        fail(id, "no open channel \"" + channelId + "\"");
        return;
      }
      if (args instanceof List<?> list) {
        for (Object v : list) {
          if (v instanceof String s && s.startsWith("--") && !ClientSettings.CALL_FLAGS.contains(s.substring(2).split("=", 2)[0])) {
            fail(id, s + " is the channel's: give it when it opens");
            return;
          }
        }
      }
    }
    Flags flags = flagsOf(id, args, ch != null);
    if (flags == null) return;
    ClientSettings settings;
    Caller caller;
    try {
      ClientSettings own = ClientSettings.read(flags);
      if (ch != null) {
        // The call's own flags over the channel's: only what the call says.
        settings = ch.settings().clone();
        if (flags.has("health") || flags.has("watch-health")) settings.method = own.method;
        if (flags.has("health-service")) settings.healthService = own.healthService;
        if (flags.has("name")) settings.name = own.name;
        if (flags.has("text")) settings.text = own.text;
        if (flags.has("timeout-ms")) settings.timeoutMs = own.timeoutMs;
        if (flags.has("wait-for-ready")) settings.waitForReady = own.waitForReady;
        settings.calls = 1;
        settings.callGapMs = 0;
        caller = ch.caller();
      } else {
        settings = own;
        caller = new Caller(settings);
      }
    } catch (RuntimeException e) {
      fail(id, e.getMessage());
      return;
    }
    ChatClient.Interrupt interrupt = new ChatClient.Interrupt();
    running.put(id, interrupt);
    synchronized (this) {
      callCount++;
    }
    boolean own = ch == null;
    calls.submit(
        () -> {
          try {
            ChatClient.Sequence result =
                ChatClient.sequence(
                    caller,
                    settings,
                    interrupt,
                    line -> {},
                    (n, at) -> send(event("id", id, "event", "start", "call", n, "at", at)),
                    (n, index, text, at) -> send(event("id", id, "event", "message", "call", n, "index", index, "text", text, "at", at)));
            send(event("id", id, "event", "end", "result", result.record()));
          } catch (RuntimeException e) {
            fail(id, String.valueOf(e));
          } finally {
            running.remove(id);
            if (own) caller.close();
          }
        });
  }

  private void open(String id, Object args) {
    if (id.isEmpty() || channels.containsKey(id)) {
      fail(id, "open needs a new id");
      return;
    }
    Flags flags = flagsOf(id, args, false);
    if (flags == null) return;
    try {
      ClientSettings settings = ClientSettings.read(flags);
      channels.put(id, new Channel(new Caller(settings), settings));
      send(event("id", id, "event", "opened", "at", Reporter.epochMs()));
    } catch (RuntimeException e) {
      fail(id, e.getMessage());
    }
  }
}
