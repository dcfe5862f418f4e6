// Package golab is what the lab's Go programs (peers/connect-go, peers/grpc-go)
// share with the Node and Python ones: strict flags with the same messages, the
// printed lines and --json record of lib/call-report.ts, the client agent's line
// protocol (docs/agent-protocol.md) and the servers' log lines (lib/server-log.ts).
// It imports no RPC library: each stack brings its own.
package golab

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// UsageError is a bad command line: the program prints it as one line and exits 2.
type UsageError struct{ Text string }

func (e *UsageError) Error() string { return e.Text }

// Usagef makes a UsageError.
func Usagef(format string, args ...any) error { return &UsageError{fmt.Sprintf(format, args...)} }

// Spec is one flag: a string takes a value, a boolean does not.
type Spec struct {
	Name    string
	Boolean bool
	Help    string
	// Default as --help shows it; parsing applies defaults itself.
	Default string
}

// Flags are the flags given: a string flag's value, or "true" for a boolean one.
type Flags map[string]string

// Has says whether a flag was given.
func (f Flags) Has(name string) bool { _, ok := f[name]; return ok }

// String is a flag's value, or def when absent.
func (f Flags) String(name, def string) string {
	if v, ok := f[name]; ok {
		return v
	}
	return def
}

// HelpRequested is returned by Parse for --help, after printing the flags.
var HelpRequested = fmt.Errorf("help")

// Parse reads --name value and --name=value strictly, as lib/cli.ts: unknown
// flags and stray words are errors; --help prints the flags and returns HelpRequested.
func Parse(program, summary string, specs []Spec, argv []string) (Flags, error) {
	values := Flags{}
	byName := map[string]Spec{}
	for _, s := range specs {
		byName[s.Name] = s
	}
	for i := 0; i < len(argv); i++ {
		word := argv[i]
		if word == "--help" || word == "-h" {
			fmt.Print(Usage(program, summary, specs))
			return nil, HelpRequested
		}
		if !strings.HasPrefix(word, "--") || word == "--" {
			return nil, Usagef("Unexpected argument '%s'. This command does not take positional arguments (see --help)", word)
		}
		name, inline, eq := strings.Cut(word[2:], "=")
		spec, ok := byName[name]
		if !ok {
			return nil, Usagef("Unknown option '--%s' (see --help)", name)
		}
		switch {
		case spec.Boolean && eq:
			return nil, Usagef("Option '--%s' does not take an argument (see --help)", name)
		case spec.Boolean:
			values[name] = "true"
		case eq:
			values[name] = inline
		case i+1 < len(argv) && (!strings.HasPrefix(argv[i+1], "--")):
			i++
			values[name] = argv[i]
		default:
			return nil, Usagef("Option '--%s <value>' argument missing (see --help)", name)
		}
	}
	return values, nil
}

// Usage is the --help text, laid out as lib/cli.ts lays it out.
func Usage(program, summary string, specs []Spec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n\nFlags:\n", program, summary)
	for _, s := range specs {
		left := "--" + s.Name
		if !s.Boolean {
			left += " VALUE"
		}
		def := ""
		if s.Default != "" {
			def = " (default " + s.Default + ")"
		}
		fmt.Fprintf(&b, "  %-28s %s%s\n", left, s.Help, def)
	}
	fmt.Fprintf(&b, "  %-28s this text\n", "--help")
	return b.String()
}

const maxSafeInteger = 1<<53 - 1

// Int reads a whole-number flag within [min, max], or a UsageError naming it and the range.
func (f Flags) Int(name string, def, min, max int64) (int64, error) {
	raw, ok := f[name]
	if !ok {
		return def, nil
	}
	v, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil || v < min || v > max {
		span := fmt.Sprintf("a whole number from %d to %d", min, max)
		if max == maxSafeInteger {
			span = fmt.Sprintf("a whole number >= %d", min)
		}
		return 0, Usagef("--%s must be %s, got \"%s\"", name, span, raw)
	}
	return v, nil
}

// OptionalInt is Int with absent meaning -1 (the feature stays off).
func (f Flags) OptionalInt(name string, min int64) (int64, error) {
	if !f.Has(name) {
		return -1, nil
	}
	return f.Int(name, 0, min, maxSafeInteger)
}

// Choice reads a flag whose value must be one of choices.
func (f Flags) Choice(name string, choices []string, def string) (string, error) {
	raw, ok := f[name]
	if !ok {
		return def, nil
	}
	for _, c := range choices {
		if c == raw {
			return raw, nil
		}
	}
	return "", Usagef("--%s must be one of %s, got \"%s\"", name, strings.Join(choices, ", "), raw)
}

// MaxSafe is the largest whole number a flag takes where it names no bound.
const MaxSafe = maxSafeInteger

// Run runs main so that failures are one line on stderr: exit 2 for a bad
// command line, 1 otherwise; never a stack trace.
func Run(program string, main func() error) {
	err := main()
	if err == nil {
		os.Exit(0)
	}
	if err == HelpRequested {
		os.Exit(0)
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", program, err)
	if _, ok := err.(*UsageError); ok {
		os.Exit(2)
	}
	os.Exit(1)
}

// Authority is host:port, with brackets around an IPv6 address.
func Authority(host string, port int64) string {
	if strings.Contains(host, ":") {
		return fmt.Sprintf("[%s]:%d", host, port)
	}
	return fmt.Sprintf("%s:%d", host, port)
}

// ReadPEM reads a PEM file a flag names (lib/tls-flags.ts): a one-line UsageError if it cannot.
func ReadPEM(flags Flags, name string) ([]byte, error) {
	path := flags[name]
	if path == "" {
		return nil, Usagef("--%s needs a file", name)
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		why := err.Error()
		if pe, ok := err.(*os.PathError); ok {
			why = errnoName(pe.Err)
		}
		return nil, Usagef("--%s: cannot read %s: %s", name, path, why)
	}
	if !strings.Contains(string(pem), "-----BEGIN ") {
		return nil, Usagef("--%s: %s is not PEM", name, path)
	}
	return pem, nil
}

func errnoName(err error) string {
	switch {
	case os.IsNotExist(err):
		return "ENOENT"
	case os.IsPermission(err):
		return "EACCES"
	}
	return err.Error()
}
