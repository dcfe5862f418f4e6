package lab.grpcjava;

import io.grpc.Server;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * What the Chat server's handlers share (the Python server's State): stream numbers, the
 * running ones, the shutdown, the health status, and the printed lines.
 */
final class ServerState {
  static final String SHUTTING_DOWN = "server shutting down";
  static final int SERVING = 1;
  static final int NOT_SERVING = 2;
  static final int SERVICE_UNKNOWN = 3;

  private final long count;
  private final long intervalMs;
  private final long graceMs;
  private final long stallAfter;
  private final boolean quiet;
  private final String stopMode;
  private final AtomicLong nextId = new AtomicLong(1);
  private final AtomicLong running = new AtomicLong();
  private volatile boolean shuttingDown;
  private final Map<String, Integer> statuses = new HashMap<>(Map.of("", SERVING, "chat.v1.ChatService", SERVING));
  private boolean draining;
  private long version;
  private final AtomicReference<String> cancelledBy = new AtomicReference<>();

  ServerState(Flags f) {
    count = f.integer("count", 3, 1, Flags.MAX_SAFE);
    intervalMs = f.integer("interval-ms", 2000, 0, Flags.MAX_SAFE);
    graceMs = f.integer("grace-ms", 5000, 0, Flags.MAX_SAFE);
    stallAfter = f.optional("stall-after", 0);
    quiet = f.has("quiet");
    stopMode = f.choice("stop-mode", java.util.List.of("ours", "library-graceful", "library-immediate"), "ours");
  }

  interface Send {
    void send(int index, String text, Instant sentAt);
  }

  record Snapshot(int status, boolean draining, long version) {}

  synchronized Integer status(String service) {
    return statuses.get(service);
  }

  synchronized Snapshot snapshot(String service) {
    return new Snapshot(statuses.getOrDefault(service, SERVICE_UNKNOWN), draining, version);
  }

  synchronized void awaitChange(long seen, long maxMs) {
    if (version != seen) return;
    try {
      wait(maxMs);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private synchronized void setNotServing() {
    draining = true;
    statuses.replaceAll((k, v) -> NOT_SERVING);
    version++;
    notifyAll();
  }

  /** One Chat handler's life: its number and its lines. */
  final class Stream {
    final long id;
    private final Object lock = new Object();

    Stream(long id) {
      this.id = id;
    }

    void wake() {
      synchronized (lock) {
        lock.notifyAll();
      }
    }

    /** Waits up to ms (forever: -1), until woken; false once the stream is cancelled or the grace is over. */
    private boolean pause(long ms, BooleanSupplier cancelled) {
      long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
      synchronized (lock) {
        while (!cancelled.getAsBoolean() && !shuttingDown) {
          long left = ms < 0 ? 1000 : TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime());
          if (ms >= 0 && left <= 0) return true;
          try {
            lock.wait(Math.max(1, left));
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
          }
        }
      }
      return false;
    }

    /** Sends the Chat stream (lib/chat-replies.ts): "ok", "shutting down" or "cancelled". */
    String replies(String name, String text, BooleanSupplier cancelled, Send send) {
      String who = name.isEmpty() ? "anonymous" : name;
      for (long index = 1; index <= count; index++) {
        if (stallAfter >= 0 && index > stallAfter) pause(-1, cancelled);
        else if (index > 1 && intervalMs > 0) pause(intervalMs, cancelled);
        if (shuttingDown) return "shutting down";
        if (cancelled.getAsBoolean()) return "cancelled";
        send.send((int) index, "hello " + who + ", reply " + index + " of " + count + " to " + Json.write(text), Instant.now());
        if (!quiet) Reporter.line("stream " + id + " message " + index + "/" + count + " handed to grpc-java");
      }
      return "ok";
    }

    /** How the handler ended: a status it gave, its client gone, or the library's stop. */
    void end(String code, String message, boolean clientGone) {
      running.decrementAndGet();
      streams.remove(this);
      String detail = message.isEmpty() ? "" : " " + Json.write(message);
      String how = cancelledBy.get();
      if (clientGone && how != null) Reporter.line("stream " + id + " cancelled by " + how);
      else if (clientGone) Reporter.line("stream " + id + " client gone: " + code + detail);
      else Reporter.line("stream " + id + " ended: " + code + detail);
    }
  }

  private final java.util.Set<Stream> streams = java.util.concurrent.ConcurrentHashMap.newKeySet();

  Stream start(String peer, String protocol) {
    Stream st = new Stream(nextId.getAndIncrement());
    running.incrementAndGet();
    streams.add(st);
    Reporter.line("stream " + st.id + " started: peer " + peer + ", protocol " + protocol);
    return st;
  }

  private void endStreams() {
    shuttingDown = true;
    for (Stream st : streams) st.wake();
  }

  private static void shutdown(String phase) {
    Reporter.line("shutdown: " + phase);
  }

  /** Gives the handlers a moment to say how they ended, then exits. */
  private void exitWhenHandlersEnd(int status) {
    for (int i = 0; i < 50 && running.get() > 0; i++) sleep(10);
    shutdown("done");
    Runtime.getRuntime().halt(status);
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void thread(Runnable r) {
    Thread t = new Thread(r);
    t.setDaemon(true);
    t.start();
  }

  /**
   * Stops the server on SIGTERM or SIGINT as --stop-mode says; the memory line on SIGUSR2. Called
   * before the listening line: a signal the lab sends once it reads that line finds its handler.
   */
  void handleSignals(Server server) {
    int[] signals = {0};
    sun.misc.SignalHandler stop =
        sig -> {
          String name = "SIG" + sig.getName();
          int n;
          synchronized (signals) {
            n = ++signals[0];
          }
          switch (stopMode) {
            case "library-immediate" -> {
              shutdown(name + ": shutdownNow(), " + running.get() + " stream(s) in flight");
              cancelledBy.set("shutdownNow()");
              server.shutdownNow();
              thread(() -> exitWhenHandlersEnd(0));
            }
            case "library-graceful" -> {
              if (n > 1) return;
              shutdown(name + ": shutdown() and awaitTermination(), " + running.get() + " stream(s) in flight");
              server.shutdown();
              thread(
                  () -> {
                    try {
                      server.awaitTermination();
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                    }
                    exitWhenHandlersEnd(0);
                  });
            }
            default -> {
              if (n > 1) {
                shutdown("second " + name + ": ending " + running.get() + " stream(s) with unavailable \"" + SHUTTING_DOWN + "\"");
                endStreams();
                thread(
                    () -> {
                      sleep(500);
                      server.shutdownNow();
                      exitWhenHandlersEnd(1);
                    });
                return;
              }
              shutdown(name + ": shutdown() (GOAWAY), " + running.get() + " stream(s) in flight, grace " + graceMs + " ms");
              // GOAWAY first, then NOT_SERVING: a Watch that ends at once must not let its client
              // close the connection before the GOAWAY leaves (server.ts queues both in one turn).
              server.shutdown();
              setNotServing();
              thread(
                  () -> {
                    try {
                      server.awaitTermination();
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                    }
                    exitWhenHandlersEnd(0);
                  });
              thread(
                  () -> {
                    sleep(graceMs);
                    if (running.get() > 0) {
                      shutdown("grace over: ending " + running.get() + " stream(s) with unavailable \"" + SHUTTING_DOWN + "\"");
                    }
                    endStreams();
                    // A peer that never reads the statuses must not hold the exit up: a second later, cut.
                    sleep(1000);
                    shutdown("connections still open 1000 ms after grace: closing them");
                    server.shutdownNow();
                    exitWhenHandlersEnd(0);
                  });
            }
          }
        };
    sun.misc.Signal.handle(new sun.misc.Signal("TERM"), stop);
    sun.misc.Signal.handle(new sun.misc.Signal("INT"), stop);
    sun.misc.Signal.handle(new sun.misc.Signal("USR2"), sig -> reportMemory());
  }

  /** Waits for good: the signal handlers end the process. */
  void awaitForever(Server server) {
    try {
      server.awaitTermination();
      for (; ; ) Thread.sleep(Long.MAX_VALUE);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The memory line of lib/memory-report.ts: the Java heap in use after a full collection, RSS, handlers. */
  private void reportMemory() {
    System.gc();
    Runtime rt = Runtime.getRuntime();
    long heap = rt.totalMemory() - rt.freeMemory();
    long rss = 0;
    try {
      String[] statm = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/statm")).trim().split(" ");
      rss = Long.parseLong(statm[1]) * 4096;
    } catch (java.io.IOException | RuntimeException e) {
      // RSS unknown: 0.
    }
    Reporter.line(
        String.format(
            "memory: heap used %d bytes (%.1f MiB), rss %d bytes (%.1f MiB), after gc, %d handler(s) running",
            heap, heap / 1048576.0, rss, rss / 1048576.0, running.get()));
  }
}
