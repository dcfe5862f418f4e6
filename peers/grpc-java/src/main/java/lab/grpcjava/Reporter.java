package lab.grpcjava;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/** Prints what a client sees, as lib/call-report.ts does, and keeps the --json record. */
final class Reporter {
  /** Status codes as the Connect protocol names them (lib/status-code.ts). */
  static final List<String> CODE_NAMES =
      List.of(
          "ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
          "already_exists", "permission_denied", "resource_exhausted", "failed_precondition",
          "aborted", "out_of_range", "unimplemented", "internal", "unavailable", "data_loss",
          "unauthenticated");

  static String codeName(int code) {
    return code >= 0 && code < CODE_NAMES.size() ? CODE_NAMES.get(code) : "code_" + code;
  }

  /** Now, in ms since the epoch to 0.1 ms: comparable with the Node programs' clocks. */
  static double epochMs() {
    Instant now = Instant.now();
    return (now.getEpochSecond() * 10_000L + now.getNano() / 100_000) / 10.0;
  }

  interface Events {
    void start(double at);

    void message(int index, String text, double at);
  }

  private static final DateTimeFormatter SENT = DateTimeFormatter.ofPattern("HH:mm:ss.SSS").withZone(ZoneOffset.UTC);

  private final String client;
  private final String protocol;
  private final long start = System.nanoTime();
  private final List<Long> arrivals = new ArrayList<>();
  private final Consumer<String> out;
  private final Events events;
  private Runnable afterEachMessage = () -> {};

  Reporter(String client, String protocol, String target, int index, int of, Consumer<String> out, Events events) {
    this.client = client;
    this.protocol = protocol;
    this.out = out;
    this.events = events;
    events.start(epochMs());
    String which = of > 1 ? ", call " + index + " of " + of : "";
    out.accept(
        "calling " + target + " with " + client + ", protocol " + protocol + " (pid " + ProcessHandle.current().pid() + which + ")");
  }

  private long sinceMs() {
    return (System.nanoTime() - start) / 1_000_000;
  }

  /** Runs after each message (the idle timeout rearms). */
  synchronized void afterEachMessage(Runnable r) {
    afterEachMessage = r;
  }

  synchronized int received() {
    return arrivals.size();
  }

  synchronized void message(int index, String text, Instant sentAt) {
    long ms = sinceMs();
    arrivals.add(ms);
    events.message(index, text, epochMs());
    String sent = sentAt == null ? "" : " (server sent it at " + SENT.format(sentAt) + ")";
    out.accept(String.format("[%6d ms] message %d: %s%s", ms, index, Json.write(text), sent));
    afterEachMessage.run();
  }

  synchronized Map<String, Object> finish(int code, String message) {
    long elapsed = sinceMs();
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("client", client);
    result.put("protocol", protocol);
    result.put("code", codeName(code));
    result.put("grpcCode", code);
    result.put("message", message);
    result.put("received", arrivals.size());
    result.put("firstMessageMs", arrivals.isEmpty() ? null : arrivals.get(0));
    result.put("elapsedMs", elapsed);
    result.put("arrivalsMs", new ArrayList<>(arrivals));
    result.put("endedAt", epochMs());
    String detail = message.isEmpty() ? "" : " " + Json.write(message);
    out.accept(
        String.format("[%6d ms] ended: %s (%d)%s, %d message(s) received", elapsed, codeName(code), code, detail, arrivals.size()));
    return result;
  }

  /** One line on stdout at once: the lab reads lines as they come. */
  static synchronized void line(String text) {
    System.out.print(text + "\n");
    System.out.flush();
  }
}
