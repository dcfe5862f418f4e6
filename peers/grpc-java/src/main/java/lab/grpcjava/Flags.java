package lab.grpcjava;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Strict flags as lib/cli.ts parses them (--name value, --name=value), with the same
 * messages: unknown flags and stray words are errors, --help prints the flags.
 */
final class Flags {
  /** A bad command line: the program prints it as one line and exits 2. */
  static final class UsageError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageError(String message) {
      super(message);
    }
  }

  /** --help was asked for, and printed. */
  static final class HelpShown extends RuntimeException {
    private static final long serialVersionUID = 1L;
  }

  /** One flag: a string takes a value, a boolean does not; the default as --help shows it. */
  record Spec(String name, boolean bool, String help, String shownDefault) {
    static Spec string(String name, String help, String shownDefault) {
      return new Spec(name, false, help, shownDefault);
    }

    static Spec bool(String name, String help) {
      return new Spec(name, true, help, null);
    }
  }

  static final long MAX_SAFE = (1L << 53) - 1;

  private final Map<String, String> values;

  private Flags(Map<String, String> values) {
    this.values = values;
  }

  static Flags parse(String program, String summary, List<Spec> specs, List<String> argv) {
    Map<String, Spec> byName = new LinkedHashMap<>();
    for (Spec s : specs) byName.put(s.name(), s);
    Map<String, String> values = new LinkedHashMap<>();
    for (int i = 0; i < argv.size(); i++) {
      String word = argv.get(i);
      if (word.equals("--help") || word.equals("-h")) {
        System.out.print(usage(program, summary, specs));
        System.out.flush();
        throw new HelpShown();
      }
      if (!word.startsWith("--") || word.equals("--")) {
        throw new UsageError(
            "Unexpected argument '" + word + "'. This command does not take positional arguments (see --help)");
      }
      String body = word.substring(2);
      int eq = body.indexOf('=');
      String name = eq < 0 ? body : body.substring(0, eq);
      Spec spec = byName.get(name);
      if (spec == null) throw new UsageError("Unknown option '--" + name + "' (see --help)");
      if (spec.bool()) {
        if (eq >= 0) throw new UsageError("Option '--" + name + "' does not take an argument (see --help)");
        values.put(name, "true");
      } else if (eq >= 0) {
        values.put(name, body.substring(eq + 1));
      } else if (i + 1 < argv.size() && !argv.get(i + 1).startsWith("--")) {
        values.put(name, argv.get(++i));
      } else {
        throw new UsageError("Option '--" + name + " <value>' argument missing (see --help)");
      }
    }
    return new Flags(values);
  }

  static String usage(String program, String summary, List<Spec> specs) {
    StringBuilder b = new StringBuilder(program + ": " + summary + "\n\nFlags:\n");
    for (Spec s : specs) {
      String left = "--" + s.name() + (s.bool() ? "" : " VALUE");
      String def = s.shownDefault() == null ? "" : " (default " + s.shownDefault() + ")";
      b.append(String.format("  %-28s %s%s%n", left, s.help(), def));
    }
    b.append(String.format("  %-28s this text%n", "--help"));
    return b.toString();
  }

  boolean has(String name) {
    return values.containsKey(name);
  }

  String string(String name, String def) {
    return values.getOrDefault(name, def);
  }

  long integer(String name, long def, long min, long max) {
    String raw = values.get(name);
    if (raw == null) return def;
    long v;
    try {
      v = Long.parseLong(raw.trim());
    } catch (NumberFormatException e) {
      v = Long.MIN_VALUE;
    }
    if (v == Long.MIN_VALUE || v < min || v > max) {
      String span =
          max == MAX_SAFE
              ? "a whole number >= " + min
              : "a whole number from " + min + " to " + max;
      throw new UsageError("--" + name + " must be " + span + ", got \"" + raw + "\"");
    }
    return v;
  }

  /** Absent: -1 (the feature stays off). */
  long optional(String name, long min) {
    return has(name) ? integer(name, 0, min, MAX_SAFE) : -1;
  }

  String choice(String name, List<String> choices, String def) {
    String raw = values.get(name);
    if (raw == null) return def;
    if (!choices.contains(raw)) {
      throw new UsageError(
          "--" + name + " must be one of " + String.join(", ", choices) + ", got \"" + raw + "\"");
    }
    return raw;
  }

  /** A PEM file a flag names (lib/tls-flags.ts): a one-line UsageError if it cannot be read. */
  byte[] pem(String name) {
    String path = values.get(name);
    if (path == null || path.isEmpty()) throw new UsageError("--" + name + " needs a file");
    byte[] pem;
    try {
      pem = java.nio.file.Files.readAllBytes(java.nio.file.Path.of(path));
    } catch (java.nio.file.NoSuchFileException e) {
      throw new UsageError("--" + name + ": cannot read " + path + ": ENOENT");
    } catch (java.io.IOException e) {
      throw new UsageError("--" + name + ": cannot read " + path + ": " + e.getMessage());
    }
    if (!new String(pem, java.nio.charset.StandardCharsets.US_ASCII).contains("-----BEGIN ")) {
      throw new UsageError("--" + name + ": " + path + " is not PEM");
    }
    return pem;
  }

  /** --options: the library's own options, as a JSON object. */
  Map<String, Object> options() {
    String raw = values.get("options");
    if (raw == null) return new LinkedHashMap<>();
    Object parsed;
    try {
      parsed = Json.parse(raw);
    } catch (RuntimeException e) {
      throw new UsageError("--options: not JSON: " + e.getMessage().split("\n")[0]);
    }
    if (!(parsed instanceof Map<?, ?> map)) {
      throw new UsageError("--options: must be a JSON object of library options");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> options = (Map<String, Object>) map;
    return options;
  }

  /** Runs a program's main so that failures are one line: exit 2 for a bad command line, 1 otherwise. */
  static void run(String program, Runnable main) {
    try {
      main.run();
    } catch (HelpShown e) {
      System.exit(0);
    } catch (UsageError e) {
      System.err.println(program + ": " + e.getMessage());
      System.exit(2);
    } catch (RuntimeException e) {
      System.err.println(program + ": " + e);
      if (System.getenv("DEBUG") != null) e.printStackTrace();
      System.exit(1);
    }
  }

  static String authority(String host, long port) {
    return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
  }
}
