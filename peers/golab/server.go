package golab

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// StopModes are how a signal stops a server (lib/server-flags.ts stopModes).
var StopModes = []string{"ours", "library-graceful", "library-immediate"}

// ServerSettings are a server's flags, read and checked (lib/server-flags.ts ServerSettings).
type ServerSettings struct {
	Host                     string
	Port                     int64
	Count                    int64
	IntervalMs, GraceMs      int64
	StallAfter               int64 // -1: never
	ReadMaxBytes, MaxStreams int64
	PingIntervalMs           int64 // 0: off
	PingTimeoutMs            int64
	// PingExplicit: --ping-interval-ms or --ping-timeout-ms was given: they win over --options.
	PingExplicit    bool
	MaxAgeMs        int64 // 0: off
	MaxAgeGraceMs   int64 // -1: until the streams end
	Quiet           bool
	Options         map[string]any
	StopMode        string
	TLSCert, TLSKey []byte
}

// ServerFlags are the flags every Chat server takes (lib/server-flags.ts serverFlags), with
// this stack's word on what it cannot do (writeStall: "" when it has a write-stall timeout).
func ServerFlags(stopHelp, optionsHelp string) []Spec {
	return []Spec{
		{Name: "host", Help: "address to listen on", Default: "127.0.0.1"},
		{Name: "port", Help: "port to listen on; 0 picks a free one", Default: "50051"},
		{Name: "count", Help: "responses per Chat stream", Default: "3"},
		{Name: "interval-ms", Help: "pause between two responses", Default: "2000"},
		{Name: "grace-ms", Help: "graceful-shutdown budget: in-flight streams may finish within it, the rest end unavailable", Default: "5000"},
		{Name: "stall-after", Help: "stop sending after this many messages and stay silent (a stalled handler in a live process)", Default: "never"},
		{Name: "read-max-bytes", Help: "largest request message accepted; a bigger one ends its call resource_exhausted", Default: "4194304 (4 MiB, gRPC's default)"},
		{Name: "max-streams", Help: "concurrent streams per connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS)", Default: "16"},
		{Name: "ping-interval-ms", Help: "server-side HTTP/2 keepalive: PING each connection this often; 0 turns it off", Default: "60000"},
		{Name: "ping-timeout-ms", Help: "server-side keepalive: close a connection whose PING is unanswered this long", Default: "20000"},
		{Name: "write-stall-timeout-ms", Help: "only 0: the library keeps flow control to itself (no write-stall timeout)", Default: "0"},
		{Name: "max-connection-age-ms", Help: "rotate connections: GOAWAY this long after each opened", Default: "0 (off)"},
		{Name: "max-connection-age-grace-ms", Help: "after the age GOAWAY, how long streams may run", Default: "none: until they end"},
		{Name: "quiet", Boolean: true, Help: "do not print a line per message"},
		{Name: "options", Help: optionsHelp, Default: "none"},
		{Name: "stop-mode", Help: "how SIGTERM or SIGINT stops the server: " + stopHelp, Default: "ours"},
		{Name: "tls-cert", Help: "serve HTTP/2 over TLS (ALPN h2) with this PEM certificate chain; needs --tls-key", Default: "none: h2c"},
		{Name: "tls-key", Help: "the PEM private key of --tls-cert", Default: "none"},
	}
}

// ReadServerSettings parses and checks a server's command line.
func ReadServerSettings(program, summary string, specs []Spec, argv []string) (*ServerSettings, error) {
	f, err := Parse(program, summary, specs, argv)
	if err != nil {
		return nil, err
	}
	s := &ServerSettings{Host: f.String("host", "127.0.0.1"), Quiet: f.Has("quiet")}
	s.PingExplicit = f.Has("ping-interval-ms") || f.Has("ping-timeout-ms")
	var stall int64
	steps := []func() error{
		func() (e error) { s.Port, e = f.Int("port", 50051, 0, 65535); return },
		func() (e error) { s.Count, e = f.Int("count", 3, 1, MaxSafe); return },
		func() (e error) { s.IntervalMs, e = f.Int("interval-ms", 2000, 0, MaxSafe); return },
		func() (e error) { s.GraceMs, e = f.Int("grace-ms", 5000, 0, MaxSafe); return },
		func() (e error) { stall, e = f.OptionalInt("stall-after", 0); return },
		func() (e error) { s.ReadMaxBytes, e = f.Int("read-max-bytes", 4<<20, 1, 1<<31-1); return },
		func() (e error) { s.MaxStreams, e = f.Int("max-streams", 16, 1, 1<<31-1); return },
		func() (e error) { s.PingIntervalMs, e = f.Int("ping-interval-ms", 60000, 0, MaxSafe); return },
		func() (e error) { s.PingTimeoutMs, e = f.Int("ping-timeout-ms", 20000, 1, MaxSafe); return },
		func() error {
			v, e := f.Int("write-stall-timeout-ms", 0, 0, MaxSafe)
			if e == nil && v != 0 {
				e = Usagef("--write-stall-timeout-ms: this library offers no view of flow control, only 0 (off)")
			}
			return e
		},
		func() (e error) { s.MaxAgeMs, e = f.Int("max-connection-age-ms", 0, 0, MaxSafe); return },
		func() (e error) { s.MaxAgeGraceMs, e = f.OptionalInt("max-connection-age-grace-ms", 0); return },
		func() (e error) { s.Options, e = ReadOptions(f); return },
		func() (e error) { s.StopMode, e = f.Choice("stop-mode", StopModes, "ours"); return },
		func() error {
			cert, key := f.Has("tls-cert"), f.Has("tls-key")
			if cert != key {
				return Usagef("--tls-cert and --tls-key go together")
			}
			if !cert {
				return nil
			}
			var e error
			if s.TLSCert, e = ReadPEM(f, "tls-cert"); e != nil {
				return e
			}
			s.TLSKey, e = ReadPEM(f, "tls-key")
			return e
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	s.StallAfter = stall
	return s, nil
}

// ListeningLine prints the line scripts and the lab wait for, once the server accepts connections.
func ListeningLine(host string, port int, implementation string) {
	Out(fmt.Sprintf("listening on %s (pid %d, %s)", Authority(host, int64(port)), os.Getpid(), implementation))
}

// Health statuses of grpc.health.v1.
const (
	Serving        int32 = 1
	NotServing     int32 = 2
	ServiceUnknown int32 = 3
)

// ChatService is the Chat service's full name, as health checks ask for it.
const ChatService = "chat.v1.ChatService"

// ShuttingDown is the message of the status a stop gives the streams it ends.
const ShuttingDown = "server shutting down"

// Server is what a Chat server's handlers share (the Python server's State): stream
// numbers, the running handlers, the shutdown, the health status.
type Server struct {
	Settings *ServerSettings
	nextID   atomic.Int64
	running  atomic.Int64
	// shuttingDown is closed when the grace is over: handlers still running end unavailable.
	shuttingDown chan struct{}
	once         sync.Once
	mu           sync.Mutex
	status       map[string]int32
	changed      chan struct{}
	draining     bool
	// cancelledBy is set once the library's own immediate stop cuts the streams off.
	cancelledBy atomic.Pointer[string]
	// signals holds what HandleSignals acts on, caught from NewServer on: a signal that came
	// between the listening line and HandleSignals would be lost (Go ignores SIGUSR2 without
	// signal.Notify: a full matrix's memory reading once waited 5 s for a line that never came).
	signals chan os.Signal
}

// NewServer makes the handlers' shared state: every service SERVING; the signals
// HandleSignals acts on are caught from here on.
func NewServer(s *ServerSettings) *Server {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR2)
	return &Server{
		Settings:     s,
		shuttingDown: make(chan struct{}),
		status:       map[string]int32{"": Serving, ChatService: Serving},
		changed:      make(chan struct{}),
		signals:      signals,
	}
}

// Running is how many Chat handlers are running.
func (srv *Server) Running() int64 { return srv.running.Load() }

// ShutdownDone is closed once the grace is over.
func (srv *Server) ShutdownDone() <-chan struct{} { return srv.shuttingDown }

// EndStreams makes every running handler end unavailable "server shutting down".
func (srv *Server) EndStreams() { srv.once.Do(func() { close(srv.shuttingDown) }) }

// Status is a service's health status, and whether it is known.
func (srv *Server) Status(service string) (int32, bool) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	st, ok := srv.status[service]
	return st, ok
}

// Changes is closed at the next status change; Draining says whether the drain has begun.
func (srv *Server) Changes() (<-chan struct{}, bool) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.changed, srv.draining
}

// SetNotServing marks every service NOT_SERVING: health-checking.md, from the moment the drain starts.
func (srv *Server) SetNotServing() {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.draining = true
	for k := range srv.status {
		srv.status[k] = NotServing
	}
	close(srv.changed)
	srv.changed = make(chan struct{})
}

// Stream is one Chat handler's life: its number, its lines.
type Stream struct {
	srv *Server
	ID  int64
	// byUs: the status this handler ended with itself, "" while it runs.
	byUs string
}

// StartStream numbers a new Chat stream and prints its first line.
func (srv *Server) StartStream(peer, protocol string) *Stream {
	id := srv.nextID.Add(1)
	srv.running.Add(1)
	Out(fmt.Sprintf("stream %d started: peer %s, protocol %s", id, peer, protocol))
	return &Stream{srv: srv, ID: id}
}

// Reply is one Chat response to send.
type Reply struct {
	Index  int
	Text   string
	SentAt time.Time
}

// ErrShuttingDown ends a handler whose grace is over: it returns unavailable "server shutting down".
var ErrShuttingDown = fmt.Errorf("%s", ShuttingDown)

// Replies sends the Chat stream (lib/chat-replies.ts): response 1 at once, then one every
// --interval-ms, silent after --stall-after; it returns nil when all were sent,
// ErrShuttingDown when the grace ended first, ctx's error when the client left, or send's.
// `handed` words what a sent message is in this library ("handed to grpc-go").
func (st *Stream) Replies(ctx context.Context, name, text, handed string, send func(Reply) error) error {
	s := st.srv.Settings
	if name == "" {
		name = "anonymous"
	}
	for index := int64(1); index <= s.Count; index++ {
		if s.StallAfter >= 0 && index > s.StallAfter {
			// Stalled: no message, no end, until the caller leaves (or the server stops).
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-st.srv.shuttingDown:
				return ErrShuttingDown
			}
		}
		if index > 1 && s.IntervalMs > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-st.srv.shuttingDown:
				return ErrShuttingDown
			case <-time.After(time.Duration(s.IntervalMs) * time.Millisecond):
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-st.srv.shuttingDown:
			return ErrShuttingDown
		default:
		}
		reply := Reply{
			Index:  int(index),
			Text:   fmt.Sprintf("hello %s, reply %d of %d to %s", name, index, s.Count, quote(text)),
			SentAt: time.Now(),
		}
		if err := send(reply); err != nil {
			return err
		}
		if !s.Quiet {
			Out(fmt.Sprintf("stream %d message %d/%d %s", st.ID, index, s.Count, handed))
		}
	}
	return nil
}

// End prints how the handler ended: "ended: CODE" for a status it gave (ok, the
// shutdown's unavailable, a deadline), "client gone: canceled" when its client left,
// "cancelled by HOW" when the library's own stop cut it off.
func (st *Stream) End(code string, message string, clientGone bool) {
	st.srv.running.Add(-1)
	detail := ""
	if message != "" {
		detail = " " + quote(message)
	}
	switch {
	case clientGone && st.srv.cancelledBy.Load() != nil:
		Out(fmt.Sprintf("stream %d cancelled by %s", st.ID, *st.srv.cancelledBy.Load()))
	case clientGone:
		Out(fmt.Sprintf("stream %d client gone: %s%s", st.ID, code, detail))
	default:
		Out(fmt.Sprintf("stream %d ended: %s%s", st.ID, code, detail))
	}
}

// Shutdown prints a phase of a stop.
func Shutdown(phase string) { Out("shutdown: " + phase) }

// Stops are a library's ways to stop its server, for HandleSignals.
type Stops struct {
	// Graceful is the library's graceful stop: GOAWAY, refuse new streams, wait for the
	// ones in flight. It returns when they have ended. Its name for the log.
	Graceful     func()
	GracefulName string
	// Immediate is the library's immediate stop: cut every connection now.
	Immediate     func()
	ImmediateName string
}

// HandleSignals stops the server on SIGTERM or SIGINT as --stop-mode says (lib/server-flags.ts),
// and prints the memory line on SIGUSR2. It never returns.
func (srv *Server) HandleSignals(stops Stops) {
	count := 0
	for sig := range srv.signals {
		name := signalName(sig)
		if sig == syscall.SIGUSR2 {
			srv.reportMemory()
			continue
		}
		count++
		switch srv.Settings.StopMode {
		case "library-immediate":
			Shutdown(fmt.Sprintf("%s: %s, %d stream(s) in flight", name, stops.ImmediateName, srv.Running()))
			how := stops.ImmediateName
			srv.cancelledBy.Store(&how)
			stops.Immediate()
			srv.exitWhenHandlersEnd(0)
		case "library-graceful":
			if count > 1 {
				continue
			}
			Shutdown(fmt.Sprintf("%s: %s, %d stream(s) in flight", name, stops.GracefulName, srv.Running()))
			go func() {
				stops.Graceful()
				srv.exitWhenHandlersEnd(0)
			}()
		default:
			if count > 1 {
				Shutdown(fmt.Sprintf("second %s: ending %d stream(s) with unavailable %s", name, srv.Running(), quote(ShuttingDown)))
				srv.EndStreams()
				go func() {
					time.Sleep(500 * time.Millisecond)
					stops.Immediate()
					srv.exitWhenHandlersEnd(1)
				}()
				continue
			}
			srv.SetNotServing()
			grace := time.Duration(srv.Settings.GraceMs) * time.Millisecond
			Shutdown(fmt.Sprintf("%s: %s (GOAWAY), %d stream(s) in flight, grace %d ms", name, stops.GracefulName, srv.Running(), srv.Settings.GraceMs))
			go func() {
				stops.Graceful()
				srv.exitWhenHandlersEnd(0)
			}()
			go func() {
				time.Sleep(grace)
				if n := srv.Running(); n > 0 {
					Shutdown(fmt.Sprintf("grace over: ending %d stream(s) with unavailable %s", n, quote(ShuttingDown)))
				}
				srv.EndStreams()
				// A peer that never reads the statuses must not hold the exit up: a second later, cut.
				time.Sleep(time.Second)
				Shutdown("connections still open 1000 ms after grace: closing them")
				stops.Immediate()
				srv.exitWhenHandlersEnd(0)
			}()
		}
	}
}

// exitWhenHandlersEnd gives the handlers a moment to say how they ended, then exits.
func (srv *Server) exitWhenHandlersEnd(status int) {
	for i := 0; i < 50 && srv.Running() > 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	Shutdown("done")
	os.Exit(status)
}

func signalName(sig os.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	}
	return strings.ToUpper(sig.String())
}

// reportMemory prints the memory line of lib/memory-report.ts: Go's heap in use after a
// full collection, the process's RSS, the handlers running.
func (srv *Server) reportMemory() {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	rss := int64(0)
	if statm, err := os.ReadFile("/proc/self/statm"); err == nil {
		var size, resident int64
		fmt.Sscan(string(statm), &size, &resident)
		rss = resident * int64(os.Getpagesize())
	}
	mib := func(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
	heap := int64(m.HeapAlloc)
	Out(fmt.Sprintf("memory: heap used %d bytes (%s), rss %d bytes (%s), after gc, %d handler(s) running", heap, mib(heap), rss, mib(rss), srv.Running()))
}
