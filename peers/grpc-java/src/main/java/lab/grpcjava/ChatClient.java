package lab.grpcjava;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Chat calls (or health checks) with grpc-java, with the flags, printed lines and --json
 * record of client.ts (docs/flags.md); with --agent, the lab's client agent
 * (docs/agent-protocol.md), one JVM for all its calls.
 *
 *   java -cp target/grpc-java-lab.jar:target/lib/* lab.grpcjava.ChatClient --port 50051
 */
public final class ChatClient {
  static final String PROGRAM = "grpc-java-client";
  static final String SUMMARY = "one Chat call (or a health check) with grpc-java (gRPC only)";
  static final ScheduledExecutorService TIMERS =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "timers");
            t.setDaemon(true);
            return t;
          });

  private ChatClient() {}

  public static void main(String[] args) {
    Flags.run(
        PROGRAM,
        () -> {
          ClientSettings s = ClientSettings.read(Flags.parse(PROGRAM, SUMMARY, ClientSettings.specs(), Arrays.asList(args)));
          if (s.agent) {
            Agent.run();
            return;
          }
          Caller caller = new Caller(s);
          Interrupt interrupt = new Interrupt();
          sun.misc.Signal.handle(new sun.misc.Signal("INT"), sig -> interrupt.fire("interrupted by SIGINT"));
          Sequence result = sequence(caller, s, interrupt, Reporter::line, (n, at) -> {}, (n, i, t, at) -> {});
          if (s.json) Reporter.line(Json.write(result.record));
          caller.close();
          System.exit("ok".equals(result.record.get("code")) && !result.last.unhealthy() ? 0 : 1);
        });
  }

  /** Who to tell when a call must end from outside (Ctrl-C, the agent's cancel). */
  static final class Interrupt {
    private final List<Runnable> listeners = new ArrayList<>();
    private String reason;

    synchronized void add(Runnable r) {
      listeners.add(r);
      if (reason != null) r.run();
    }

    synchronized void remove(Runnable r) {
      listeners.remove(r);
    }

    synchronized String reason() {
      return reason;
    }

    void fire(String why) {
      List<Runnable> now;
      synchronized (this) {
        reason = why;
        now = new ArrayList<>(listeners);
      }
      now.forEach(Runnable::run);
    }
  }

  interface OnStart {
    void start(int call, double at);
  }

  interface OnMessage {
    void message(int call, int index, String text, double at);
  }

  record Sequence(Map<String, Object> record, Caller.End last) {}

  /** --calls calls one after another on one channel, --call-gap-ms apart (lib/run-calls.ts). */
  static Sequence sequence(
      Caller caller, ClientSettings s, Interrupt interrupt, Consumer<String> out, OnStart onStart, OnMessage onMessage) {
    List<Map<String, Object>> results = new ArrayList<>();
    Caller.End last = new Caller.End(1, "no call made", false);
    for (int i = 1; i <= s.calls; i++) {
      if (i > 1 && s.callGapMs > 0) {
        try {
          Thread.sleep(s.callGapMs);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (interrupt.reason() != null && i > 1) break;
      int n = i;
      Reporter r =
          new Reporter(
              "grpc-java",
              "grpc",
              s.address(),
              n,
              (int) s.calls,
              out,
              new Reporter.Events() {
                @Override
                public void start(double at) {
                  onStart.start(n, at);
                }

                @Override
                public void message(int index, String text, double at) {
                  onMessage.message(n, index, text, at);
                }
              });
      last = oneCall(caller, s, r, interrupt);
      results.add(r.finish(last.code(), last.message()));
    }
    Map<String, Object> record = results.get(results.size() - 1);
    if (results.size() > 1) record.put("previousCalls", results.subList(0, results.size() - 1));
    return new Sequence(record, last);
  }

  /** One call, with the idle timeout (lib/idle-timeout-interceptor.ts) and interrupts around it. */
  static Caller.End oneCall(Caller caller, ClientSettings s, Reporter r, Interrupt interrupt) {
    AtomicReference<Runnable> cancel = new AtomicReference<>(() -> {});
    AtomicReference<String> why = new AtomicReference<>();
    Runnable onInterrupt =
        () -> {
          why.compareAndSet(null, "interrupt");
          cancel.get().run();
        };
    AtomicReference<ScheduledFuture<?>> idle = new AtomicReference<>();
    Runnable arm =
        () -> {
          if (s.idleTimeoutMs <= 0) return;
          ScheduledFuture<?> before =
              idle.getAndSet(
                  TIMERS.schedule(
                      () -> {
                        why.compareAndSet(null, "idle");
                        cancel.get().run();
                      },
                      s.idleTimeoutMs,
                      TimeUnit.MILLISECONDS));
          if (before != null) before.cancel(false);
        };
    r.afterEachMessage(arm);
    CompletableFuture<Caller.End> done = caller.call(s, r, cancel);
    arm.run();
    interrupt.add(onInterrupt);
    Caller.End end = done.join();
    interrupt.remove(onInterrupt);
    ScheduledFuture<?> timer = idle.get();
    if (timer != null) timer.cancel(false);
    if ("idle".equals(why.get())) return new Caller.End(4, "idle timeout: no message for " + s.idleTimeoutMs + " ms", false);
    if ("interrupt".equals(why.get())) return new Caller.End(1, interrupt.reason(), false);
    return end;
  }
}
