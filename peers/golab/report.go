package golab

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// CodeNames are the gRPC status codes as the Connect protocol spells them (lib/status-code.ts).
var CodeNames = []string{
	"ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
	"already_exists", "permission_denied", "resource_exhausted", "failed_precondition",
	"aborted", "out_of_range", "unimplemented", "internal", "unavailable", "data_loss",
	"unauthenticated",
}

// CodeName is a status number's name ("code_N" past the table).
func CodeName(code int) string {
	if code >= 0 && code < len(CodeNames) {
		return CodeNames[code]
	}
	return fmt.Sprintf("code_%d", code)
}

// Status codes the programs set themselves.
const (
	CodeOK               = 0
	CodeCanceled         = 1
	CodeDeadlineExceeded = 4
	CodeUnimplemented    = 12
	CodeUnavailable      = 14
)

// EpochMs is now, in ms since the epoch to 0.1 ms: comparable with the Node
// programs' clocks (lib/wall-clock.ts) and Python's time.time().
func EpochMs(t time.Time) float64 {
	return float64(t.UnixNano()/100_000) / 10
}

// CallResult is the --json record of one call (lib/call-report.ts CallResult).
type CallResult struct {
	Client         string        `json:"client"`
	Protocol       string        `json:"protocol"`
	Code           string        `json:"code"`
	GrpcCode       int           `json:"grpcCode"`
	Message        string        `json:"message"`
	Received       int           `json:"received"`
	FirstMessageMs *int64        `json:"firstMessageMs"`
	ElapsedMs      int64         `json:"elapsedMs"`
	ArrivalsMs     []int64       `json:"arrivalsMs"`
	EndedAt        float64       `json:"endedAt"`
	PreviousCalls  []*CallResult `json:"previousCalls,omitempty"`
}

// Reporter prints what a client sees, as lib/call-report.ts does, and keeps the record.
type Reporter struct {
	client, protocol string
	start            time.Time
	arrivals         []int64
	out              func(string)
	onMessage        func(index int, text string, at float64)
}

// ReporterOptions says who calls where, and where the lines and events go.
type ReporterOptions struct {
	Client, Protocol, Target string
	// CallIndex/CallsOf: which call of --calls, when several.
	CallIndex, CallsOf int
	Out                func(string)
	OnStart            func(at float64)
	OnMessage          func(index int, text string, at float64)
}

// NewReporter starts a call's record now and prints its first line.
func NewReporter(o ReporterOptions) *Reporter {
	r := &Reporter{client: o.Client, protocol: o.Protocol, start: time.Now(), out: o.Out, onMessage: o.OnMessage}
	if r.out == nil {
		r.out = func(string) {}
	}
	if o.OnStart != nil {
		o.OnStart(EpochMs(r.start))
	}
	which := ""
	if o.CallsOf > 1 {
		which = fmt.Sprintf(", call %d of %d", o.CallIndex, o.CallsOf)
	}
	r.out(fmt.Sprintf("calling %s with %s, protocol %s (pid %d%s)", o.Target, o.Client, o.Protocol, os.Getpid(), which))
	return r
}

// Received is how many messages arrived so far.
func (r *Reporter) Received() int { return len(r.arrivals) }

// Message records and prints a message's arrival; sentAt may be zero.
func (r *Reporter) Message(index int, text string, sentAt time.Time) {
	now := time.Now()
	ms := now.Sub(r.start).Milliseconds()
	r.arrivals = append(r.arrivals, ms)
	if r.onMessage != nil {
		r.onMessage(index, text, EpochMs(now))
	}
	sent := ""
	if !sentAt.IsZero() {
		sent = " (server sent it at " + sentAt.UTC().Format("15:04:05.000") + ")"
	}
	quoted, _ := json.Marshal(text)
	r.out(fmt.Sprintf("[%6d ms] message %d: %s%s", ms, index, quoted, sent))
}

// Finish prints the summary line and returns the record.
func (r *Reporter) Finish(code int, message string) *CallResult {
	end := time.Now()
	res := &CallResult{
		Client: r.client, Protocol: r.protocol, Code: CodeName(code), GrpcCode: code, Message: message,
		Received: len(r.arrivals), ElapsedMs: end.Sub(r.start).Milliseconds(), ArrivalsMs: r.arrivals,
		EndedAt: EpochMs(end),
	}
	if res.ArrivalsMs == nil {
		res.ArrivalsMs = []int64{}
	}
	if len(r.arrivals) > 0 {
		first := r.arrivals[0]
		res.FirstMessageMs = &first
	}
	detail := ""
	if message != "" {
		quoted, _ := json.Marshal(message)
		detail = " " + string(quoted)
	}
	r.out(fmt.Sprintf("[%6d ms] ended: %s (%d)%s, %d message(s) received", res.ElapsedMs, res.Code, code, detail, res.Received))
	return res
}

// ServingNames are grpc.health.v1's statuses by number.
var ServingNames = map[int32]string{0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}

// ServingName is a health status's name.
func ServingName(status int32) string {
	if n, ok := ServingNames[status]; ok {
		return n
	}
	return fmt.Sprint(status)
}

// Out prints one line on stdout at once: the lab reads lines as they come.
func Out(line string) {
	os.Stdout.WriteString(line + "\n")
}

// quote is JSON's quoting of a string, as the Node programs print messages.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
