"""What the grpcio server and client share with the Node programs: flags
parsed strictly with the same messages, the same printed lines, status
names as the Connect protocol spells them, and times by the epoch.

A bad command line is one line on stderr and exit 2; any other failure one
line and exit 1; never a traceback (set DEBUG=1 to see one).
"""

import errno
import json
import os
import sys
import time
import traceback



def _generated_code():
    """The folder of the code generated from chat.proto and the health proto for this
    Python's protobuf (generate.sh): Debian 12's protobuf 4.21 (beside its grpcio 1.51.1)
    cannot load what today's protoc writes (it checks the runtime with
    google.protobuf.runtime_version, new in 5.26), and today's runtime refuses what
    Debian's old protoc wrote."""
    try:
        import google.protobuf.runtime_version  # noqa: F401
    except ImportError:
        return "gen_debian12"
    return "gen"


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), _generated_code()))

MAX_SAFE_INTEGER = 2**53 - 1


class UsageError(Exception):
    """A bad command line: the program prints it as one line and exits 2."""


def epoch_ms():
    """Now, in ms since the epoch to 0.1 ms: comparable with the Node programs' clocks."""
    return round(time.time() * 1000, 1)


# gRPC status numbers and the names the Connect protocol gives them (lib/status-code.ts).
CODE_NAMES = [
    "ok",
    "canceled",
    "unknown",
    "invalid_argument",
    "deadline_exceeded",
    "not_found",
    "already_exists",
    "permission_denied",
    "resource_exhausted",
    "failed_precondition",
    "aborted",
    "out_of_range",
    "unimplemented",
    "internal",
    "unavailable",
    "data_loss",
    "unauthenticated",
]


def code_name(number):
    return CODE_NAMES[number] if 0 <= number < len(CODE_NAMES) else "code_%d" % number


def status_number(status_code):
    """The number of a grpc.StatusCode."""
    return status_code.value[0]


def parse_flags(program, summary, specs, argv):
    """Strict flags as lib/cli.ts parses them: --name value or --name=value.

    `specs`: name -> (type "string" or "boolean", help, default shown in --help or None).
    Unknown flags and stray words are errors; --help prints the flags and exits 0.
    """
    values = {}
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in ("--help", "-h"):
            sys.stdout.write(usage(program, summary, specs))
            sys.exit(0)
        if not word.startswith("--") or word == "--":
            raise UsageError(
                "Unexpected argument '%s'. This command does not take positional arguments (see --help)" % word
            )
        name, eq, inline = word[2:].partition("=")
        spec = specs.get(name)
        if spec is None:
            raise UsageError("Unknown option '--%s' (see --help)" % name)
        if spec[0] == "boolean":
            if eq:
                raise UsageError("Option '--%s' does not take an argument (see --help)" % name)
            values[name] = True
        elif eq:
            values[name] = inline
        elif i + 1 < len(argv) and (not argv[i + 1].startswith("--")):
            i += 1
            values[name] = argv[i]
        else:
            raise UsageError("Option '--%s <value>' argument missing (see --help)" % name)
        i += 1
    return values


def usage(program, summary, specs):
    rows = []
    for name, (kind, help_text, default) in specs.items():
        left = "--%s VALUE" % name if kind == "string" else "--%s" % name
        rows.append("  %s %s%s" % (left.ljust(28), help_text, " (default %s)" % default if default else ""))
    return "%s: %s\n\nFlags:\n%s\n  %s this text\n" % (program, summary, "\n".join(rows), "--help".ljust(28))


def int_flag(flags, name, default, minimum=0, maximum=MAX_SAFE_INTEGER):
    raw = flags.get(name)
    if raw is None:
        return default
    text = str(raw).strip()
    body = text[1:] if text.startswith("-") else text
    value = int(text) if body.isdigit() and body.isascii() else None
    if value is None or value < minimum or value > maximum:
        span = (
            "a whole number >= %d" % minimum
            if maximum == MAX_SAFE_INTEGER
            else "a whole number from %d to %d" % (minimum, maximum)
        )
        raise UsageError('--%s must be %s, got "%s"' % (name, span, raw))
    return value


def optional_int_flag(flags, name, minimum=0):
    return None if flags.get(name) is None else int_flag(flags, name, 0, minimum)


def choice_flag(flags, name, choices, default):
    raw = flags.get(name)
    if raw is None:
        return default
    if raw not in choices:
        raise UsageError('--%s must be one of %s, got "%s"' % (name, ", ".join(choices), raw))
    return raw


def run_cli(program, main):
    """Runs main() so that failures are one line: exit 2 for a bad command line, 1 otherwise."""
    try:
        main()
    except UsageError as e:
        sys.stderr.write("%s: %s\n" % (program, e))
        sys.stderr.flush()
        os._exit(2)
    except KeyboardInterrupt:
        os._exit(130)
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001: one line, never a traceback
        sys.stderr.write("%s: %s\n" % (program, e))
        if os.environ.get("DEBUG"):
            traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)


def require_grpcio(program):
    """Ends the program with one line when this Python lacks grpcio or protobuf: no traceback."""
    try:
        import grpc  # noqa: F401
        import google.protobuf  # noqa: F401
    except ImportError as e:
        name = str(e.name or "")
        missing = "grpcio" if name.startswith("grpc") else "protobuf" if name.startswith("google") else name
        sys.stderr.write(
            "%s: %s has no %s (the lab makes peers/grpcio/.venv with requirements.txt;"
            " or: pip install -r peers/grpcio/requirements.txt)\n" % (program, sys.executable, missing)
        )
        sys.stderr.flush()
        os._exit(1)


def out(line):
    """One line on stdout, at once: the lab reads lines as they come."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def authority(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


OPTIONS_FLAG = (
    "string",
    "gRPC core channel arguments as a JSON object, each under its own name, e.g. "
    '{"grpc.keepalive_permit_without_calls":1}; the other flags win over them',
    "none",
)


def options_flag(flags):
    """--options (lib/library-options.ts): a lab profile's gRPC core arguments, as a dict."""
    raw = flags.get("options")
    if raw is None:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as e:
        raise UsageError("--options: not JSON: %s" % str(e).splitlines()[0])
    if not isinstance(parsed, dict):
        raise UsageError("--options: must be a JSON object of gRPC core arguments")
    return parsed


SERVER_TLS_FLAGS = {
    "tls-cert": (
        "string",
        "serve HTTP/2 over TLS (ALPN h2) with this PEM certificate chain; needs --tls-key",
        "none: h2c",
    ),
    "tls-key": ("string", "the PEM private key of --tls-cert", "none"),
}

CLIENT_TLS_FLAGS = {
    "tls-ca": (
        "string",
        "speak HTTP/2 over TLS (ALPN h2), trusting the server certificates this PEM CA signed",
        "none: h2c",
    ),
}


def read_pem(flags, name):
    """A PEM file a flag names (lib/tls-flags.ts): a one-line UsageError if it cannot be read."""
    path = flags.get(name)
    if not path:
        raise UsageError("--%s needs a file" % name)
    try:
        with open(path, "rb") as f:
            pem = f.read()
    except OSError as e:
        raise UsageError("--%s: cannot read %s: %s" % (name, path, errno.errorcode.get(e.errno, str(e))))
    if b"-----BEGIN " not in pem:
        raise UsageError("--%s: %s is not PEM" % (name, path))
    return pem


def server_tls(flags):
    """--tls-cert and --tls-key, both or neither: (key, cert) PEM, or None for h2c (issue 19)."""
    cert, key = flags.get("tls-cert") is not None, flags.get("tls-key") is not None
    if not cert and not key:
        return None
    if cert != key:
        raise UsageError("--tls-cert and --tls-key go together")
    return (read_pem(flags, "tls-key"), read_pem(flags, "tls-cert"))


def client_tls(flags):
    """--tls-ca: the CA a client trusts (PEM), or None for h2c (issue 19)."""
    return None if flags.get("tls-ca") is None else read_pem(flags, "tls-ca")


def merge_service_config(user, own):
    """As mergeServiceConfig in lib/library-options.ts: the program's fields into the user's config."""
    base = json.loads(user) if isinstance(user, str) else user
    if not base:
        return own or None
    if not own:
        return base
    merged = dict(base)
    own_methods = own.get("methodConfig") or []
    merged.update({k: v for k, v in own.items() if k != "methodConfig"})
    if own_methods:
        fields = {k: v for k, v in own_methods[0].items() if k != "name"}
        user_methods = base.get("methodConfig") or []
        named = {json.dumps(n, sort_keys=True) for m in user_methods for n in m.get("name", [])}
        rest = [n for n in own_methods[0].get("name", []) if json.dumps(n, sort_keys=True) not in named]
        merged["methodConfig"] = [dict(m, **fields) for m in user_methods] + (
            [dict(own_methods[0], name=rest)] if rest else []
        )
    return merged
