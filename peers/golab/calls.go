package golab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// CallEnd is how one call ended: a status number, its message ("" on ok), and for a
// health Check that ended ok, whether the answer was a failure (not SERVING).
type CallEnd struct {
	Code      int
	Message   string
	Unhealthy bool
}

// Caller makes calls on one transport or channel of its own (lib/caller.ts).
type Caller interface {
	// Call makes one call as `s` says (its method, name, text, wait-for-ready),
	// reports each message to r, and ends the call when ctx ends (its deadline is
	// the call's --timeout-ms, set by the caller of Call; a cancel is Ctrl-C, the
	// agent's cancel command or the idle timeout).
	Call(ctx context.Context, r *Reporter, s *ClientSettings) CallEnd
	// Close closes the transport or channel, and with it its connections.
	Close()
}

// ClientStack is one client program's stack: what golab needs to run its CLI and agent.
type ClientStack struct {
	// Client is the stack's name in records ("connect-go").
	Client string
	// Program names it in errors ("connect-go-client").
	Program   string
	Summary   string
	Protocols []string
	Flags     []Spec
	// Library is "module version", for the agent's ready event and the report's versions.
	Library string
	// NewCaller makes a caller on a transport or channel of its own; a UsageError refuses settings.
	NewCaller func(s *ClientSettings) (Caller, error)
	// OwnRetries: the library retries by its service config's retry policy; else --retry is
	// golab's, as lib/retry-interceptor.ts does it for connect-node.
	OwnRetries bool
}

// interrupted is why a call was cancelled from outside it: its message is the call's.
type interrupted struct{ reason string }

func (i *interrupted) Error() string { return i.reason }

type idleTimeout struct{ ms int64 }

func (i *idleTimeout) Error() string { return fmt.Sprintf("idle timeout: no message for %d ms", i.ms) }

// oneCall makes a call with its deadline, idle timeout and retries around the stack's Call.
func oneCall(ctx context.Context, stack *ClientStack, caller Caller, r *Reporter, s *ClientSettings) CallEnd {
	if s.TimeoutMs > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(s.TimeoutMs)*time.Millisecond)
		defer cancel()
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if s.IdleTimeoutMs > 0 {
		// A watchdog over the whole stream, rearmed by every message (lib/idle-timeout-interceptor.ts).
		idle := time.Duration(s.IdleTimeoutMs) * time.Millisecond
		timer := time.AfterFunc(idle, func() { cancel(&idleTimeout{s.IdleTimeoutMs}) })
		defer timer.Stop()
		inner := r.onMessage
		r.onMessage = func(index int, text string, at float64) {
			timer.Reset(idle)
			if inner != nil {
				inner(index, text, at)
			}
		}
	}
	var end CallEnd
	for attempt := int64(1); ; attempt++ {
		end = caller.Call(ctx, r, s)
		retry := !stack.OwnRetries && end.Code == CodeUnavailable && r.Received() == 0 &&
			attempt < s.RetryAttempts && ctx.Err() == nil
		if !retry {
			break
		}
		// Full jitter, as gRFC A6 and lib/retry-interceptor.ts.
		backoff := math.Min(RetryPolicy.MaxBackoffMs, RetryPolicy.InitialBackoffMs*math.Pow(RetryPolicy.Multiplier, float64(attempt-1)))
		select {
		case <-time.After(time.Duration(rand.Float64()*backoff) * time.Millisecond):
		case <-ctx.Done():
		}
	}
	var idle *idleTimeout
	var stop *interrupted
	switch cause := context.Cause(ctx); {
	case errors.As(cause, &idle):
		return CallEnd{Code: CodeDeadlineExceeded, Message: idle.Error()}
	case errors.As(cause, &stop):
		return CallEnd{Code: CodeCanceled, Message: stop.reason}
	}
	return end
}

// SequenceOptions are where a sequence of calls reports to.
type SequenceOptions struct {
	Out       func(string)
	OnStart   func(call int, at float64)
	OnMessage func(call, index int, text string, at float64)
}

// RunSequence makes --calls calls on caller, --call-gap-ms apart (lib/run-calls.ts
// runCallSequence): the last call's record, earlier ones in previousCalls.
func RunSequence(ctx context.Context, stack *ClientStack, caller Caller, s *ClientSettings, o SequenceOptions) (*CallResult, CallEnd) {
	var results []*CallResult
	last := CallEnd{Code: CodeCanceled, Message: "no call made"}
	for i := int64(1); i <= s.Calls; i++ {
		if i > 1 && s.CallGapMs > 0 {
			select {
			case <-time.After(time.Duration(s.CallGapMs) * time.Millisecond):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil && i > 1 {
			break
		}
		n := int(i)
		r := NewReporter(ReporterOptions{
			Client: stack.Client, Protocol: s.Protocol, Target: s.Address(), CallIndex: n, CallsOf: int(s.Calls),
			Out:       o.Out,
			OnStart:   func(at float64) { callIf(o.OnStart, n, at) },
			OnMessage: func(index int, text string, at float64) { messageIf(o.OnMessage, n, index, text, at) },
		})
		last = oneCall(ctx, stack, caller, r, s)
		results = append(results, r.Finish(last.Code, last.Message))
	}
	record := results[len(results)-1]
	if len(results) > 1 {
		record.PreviousCalls = results[:len(results)-1]
	}
	return record, last
}

func callIf(f func(int, float64), n int, at float64) {
	if f != nil {
		f(n, at)
	}
}

func messageIf(f func(int, int, string, float64), n, index int, text string, at float64) {
	if f != nil {
		f(n, index, text, at)
	}
}

// RunClient is a client program's main: its flags, then the CLI's calls or the agent.
func RunClient(stack *ClientStack) {
	Run(stack.Program, func() error {
		flags, err := Parse(stack.Program, stack.Summary, stack.Flags, os.Args[1:])
		if err != nil {
			return err
		}
		s, err := ReadClientSettings(flags, stack.Protocols)
		if err != nil {
			return err
		}
		if s.Agent {
			return RunAgent(stack)
		}
		caller, err := stack.NewCaller(s)
		if err != nil {
			return err
		}
		// Ctrl-C cancels the call under way: it ends canceled at once.
		ctx, cancel := context.WithCancelCause(context.Background())
		interrupts := make(chan os.Signal, 1)
		signal.Notify(interrupts, syscall.SIGINT)
		go func() {
			<-interrupts
			cancel(&interrupted{"interrupted by SIGINT"})
		}()
		record, last := RunSequence(ctx, stack, caller, s, SequenceOptions{Out: Out})
		if s.JSON {
			line, _ := json.Marshal(record)
			Out(string(line))
		}
		caller.Close()
		if record.Code == "ok" && !last.Unhealthy {
			os.Exit(0)
		}
		os.Exit(1)
		return nil
	})
}
