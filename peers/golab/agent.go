package golab

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RunAgent is the lab's client agent (docs/agent-protocol.md): calls from stdin, each on
// a transport or channel of its own, or on a channel the lab opened; events on stdout.
// It returns only when stdin closes: the lab is gone, or done.
func RunAgent(stack *ClientStack) error {
	a := &agent{stack: stack, running: map[string]context.CancelCauseFunc{}, channels: map[string]*channel{}}
	// Ctrl-C reaches the whole process group; the lab ends its agents itself.
	signal.Ignore(syscall.SIGINT)
	go a.watchLateness()
	a.send(map[string]any{"event": "ready", "client": stack.Client, "pid": os.Getpid(), "library": stack.Library})
	lines := bufio.NewScanner(os.Stdin)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for lines.Scan() {
		a.onLine(lines.Text())
	}
	os.Exit(0)
	return nil
}

type channel struct {
	caller   Caller
	settings *ClientSettings
}

type agent struct {
	stack    *ClientStack
	out      sync.Mutex
	mu       sync.Mutex
	running  map[string]context.CancelCauseFunc
	channels map[string]*channel
	calls    int
	lateness []float64
}

func (a *agent) send(event map[string]any) {
	line, _ := json.Marshal(event)
	a.out.Lock()
	os.Stdout.Write(append(line, '\n'))
	a.out.Unlock()
}

func (a *agent) fail(id string, err error) {
	a.send(map[string]any{"id": id, "event": "error", "message": err.Error()})
}

// watchLateness measures how late a 20 ms timer runs: calls sharing this process must not
// delay one another (the lab reads it with "stats"). Every 20 ms, not 5: at 5 the watch itself
// cost the idle agent 20 ms of CPU a second (issue 29).
func (a *agent) watchLateness() {
	for {
		before := time.Now()
		time.Sleep(20 * time.Millisecond)
		late := float64(time.Since(before).Microseconds())/1000 - 20
		a.mu.Lock()
		a.lateness = append(a.lateness, max(0, late))
		if len(a.lateness) > 20000 {
			a.lateness = slices.Clone(a.lateness[len(a.lateness)-10000:])
		}
		a.mu.Unlock()
	}
}

type command struct {
	Op      string `json:"op"`
	ID      any    `json:"id"`
	Args    any    `json:"args"`
	Channel any    `json:"channel"`
}

func (a *agent) onLine(line string) {
	var c command
	if err := json.Unmarshal([]byte(line), &c); err != nil {
		text := line
		if len(text) > 80 {
			text = text[:80]
		}
		a.send(map[string]any{"event": "error", "message": "not a JSON command: " + text})
		return
	}
	id, _ := c.ID.(string)
	switch c.Op {
	case "call":
		a.mu.Lock()
		_, busy := a.running[id]
		a.mu.Unlock()
		if id == "" || busy {
			a.send(map[string]any{"id": id, "event": "error", "message": "call needs a new id"})
			return
		}
		channelID, isChannel := c.Channel.(string)
		a.call(id, c.Args, channelID, isChannel)
	case "cancel":
		a.mu.Lock()
		cancel := a.running[id]
		a.mu.Unlock()
		if cancel != nil {
			cancel(&interrupted{"cancelled by the agent's cancel command"})
		}
	case "open":
		a.open(id, c.Args)
	case "close":
		a.mu.Lock()
		ch := a.channels[id]
		delete(a.channels, id)
		a.mu.Unlock()
		if ch == nil {
			a.send(map[string]any{"id": id, "event": "error", "message": `no open channel "` + id + `"`})
			return
		}
		go ch.caller.Close()
		a.send(map[string]any{"id": id, "event": "closed"})
	case "stats":
		a.mu.Lock()
		ordered := slices.Clone(a.lateness)
		calls := a.calls
		a.mu.Unlock()
		sort.Float64s(ordered)
		if len(ordered) == 0 {
			ordered = []float64{0}
		}
		pick := func(q float64) float64 {
			i := min(len(ordered)-1, int(q*float64(len(ordered))))
			return float64(int(ordered[i]*100+0.5)) / 100
		}
		a.send(map[string]any{
			"event":            "stats",
			"eventLoopDelayMs": map[string]any{"p50": pick(0.5), "p99": pick(0.99), "max": pick(1)},
			"calls":            calls,
		})
	default:
		op, _ := json.Marshal(c.Op)
		a.send(map[string]any{"id": id, "event": "error", "message": "unknown op " + string(op)})
	}
}

// flagsOf parses a command's args, or says why they are refused and returns nil.
func (a *agent) flagsOf(id string, raw any, specs []Spec) Flags {
	list, ok := raw.([]any)
	args := make([]string, 0, len(list))
	for _, v := range list {
		s, isString := v.(string)
		if !isString {
			ok = false
		}
		args = append(args, s)
	}
	if !ok {
		a.send(map[string]any{"id": id, "event": "error", "message": "args must be a list of strings"})
		return nil
	}
	for _, arg := range args {
		if arg == "--agent" || arg == "--help" || arg == "-h" {
			a.send(map[string]any{"id": id, "event": "error", "message": "--agent and --help are not call flags"})
			return nil
		}
	}
	flags, err := Parse(a.stack.Program, "", specs, args)
	if err != nil {
		a.fail(id, err)
		return nil
	}
	return flags
}

func (a *agent) call(id string, args any, channelID string, onChannel bool) {
	var ch *channel
	if onChannel {
		a.mu.Lock()
		ch = a.channels[channelID]
		a.mu.Unlock()
		if ch == nil {
			a.send(map[string]any{"id": id, "event": "error", "message": `no open channel "` + channelID + `"`})
			return
		}
		if list, ok := args.([]any); ok {
			for _, v := range list {
				s, _ := v.(string)
				if strings.HasPrefix(s, "--") && !slices.Contains(CallFlagNames, strings.SplitN(s[2:], "=", 2)[0]) {
					a.send(map[string]any{"id": id, "event": "error", "message": s + " is the channel's: give it when it opens"})
					return
				}
			}
		}
	}
	specs := a.stack.Flags
	if ch != nil {
		specs = nil
		for _, spec := range a.stack.Flags {
			if slices.Contains(CallFlagNames, spec.Name) {
				specs = append(specs, spec)
			}
		}
	}
	flags := a.flagsOf(id, args, specs)
	if flags == nil {
		return
	}
	own, err := ReadClientSettings(flags, a.stack.Protocols)
	if err != nil {
		a.fail(id, err)
		return
	}
	settings := own
	var caller Caller
	if ch != nil {
		// The call's own flags over the channel's: only what the call says.
		merged := *ch.settings
		if flags.Has("health") || flags.Has("watch-health") {
			merged.Method = own.Method
		}
		if flags.Has("health-service") {
			merged.HealthService = own.HealthService
		}
		if flags.Has("name") {
			merged.Name = own.Name
		}
		if flags.Has("text") {
			merged.Text = own.Text
		}
		if flags.Has("timeout-ms") {
			merged.TimeoutMs = own.TimeoutMs
		}
		if flags.Has("wait-for-ready") {
			merged.WaitForReady = own.WaitForReady
		}
		merged.Calls, merged.CallGapMs = 1, 0
		settings = &merged
		caller = ch.caller
	} else if caller, err = a.stack.NewCaller(settings); err != nil {
		a.fail(id, err)
		return
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	a.mu.Lock()
	a.running[id] = cancel
	a.calls++
	a.mu.Unlock()
	go func() {
		defer func() {
			a.mu.Lock()
			delete(a.running, id)
			a.mu.Unlock()
			cancel(nil)
			if ch == nil {
				caller.Close()
			}
		}()
		record, _ := RunSequence(ctx, a.stack, caller, settings, SequenceOptions{
			OnStart: func(n int, at float64) { a.send(map[string]any{"id": id, "event": "start", "call": n, "at": at}) },
			OnMessage: func(n, index int, text string, at float64) {
				a.send(map[string]any{"id": id, "event": "message", "call": n, "index": index, "text": text, "at": at})
			},
		})
		a.send(map[string]any{"id": id, "event": "end", "result": record})
	}()
}

func (a *agent) open(id string, args any) {
	a.mu.Lock()
	_, taken := a.channels[id]
	a.mu.Unlock()
	if id == "" || taken {
		a.send(map[string]any{"id": id, "event": "error", "message": "open needs a new id"})
		return
	}
	flags := a.flagsOf(id, args, a.stack.Flags)
	if flags == nil {
		return
	}
	settings, err := ReadClientSettings(flags, a.stack.Protocols)
	if err != nil {
		a.fail(id, err)
		return
	}
	caller, err := a.stack.NewCaller(settings)
	if err != nil {
		a.fail(id, err)
		return
	}
	a.mu.Lock()
	a.channels[id] = &channel{caller: caller, settings: settings}
	a.mu.Unlock()
	a.send(map[string]any{"id": id, "event": "opened", "at": EpochMs(time.Now())})
}
