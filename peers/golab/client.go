package golab

import (
	"encoding/json"
	"strings"
)

// Protocols every client flag set names; a stack speaks some of them.
var Protocols = []string{"grpc", "connect", "grpc-web"}

// LbPolicies are the load-balancing policies of the gRPC service config.
var LbPolicies = []string{"pick_first", "round_robin"}

// RetryPolicy is the policy --retry N asks for (lib/client-flags.ts retryPolicy):
// pauses of up to 0.25, 0.5, 1 and 2 s, for calls that failed UNAVAILABLE before
// their first message.
var RetryPolicy = struct{ InitialBackoffMs, MaxBackoffMs, Multiplier float64 }{250, 2000, 2}

// ClientSettings are a client's flags, read and checked (lib/client-flags.ts ClientSettings).
type ClientSettings struct {
	Method string // chat, health-check, health-watch, dynamic
	// Dynamic is --method's call from its schema (method "dynamic"), else nil.
	Dynamic       *DynamicCall
	HealthService string
	Host          string
	Port          int64
	Protocol      string
	Name, Text    string
	// -1: not given.
	PingIntervalMs, PingTimeoutMs, TimeoutMs, IdleTimeoutMs int64
	Target                                                  string
	LbPolicy                                                string
	PingIdle, HealthCheck, WaitForReady                     bool
	RetryAttempts                                           int64
	// Options: --options, the library's own options under the flags (lab profiles).
	Options   map[string]any
	TLSCA     []byte
	Calls     int64
	CallGapMs int64
	JSON      bool
	Agent     bool
}

// Address is the target the client dials: --target, else host:port.
func (s *ClientSettings) Address() string {
	if s.Target != "" {
		return s.Target
	}
	return Authority(s.Host, s.Port)
}

// ClientFlags are the flags every Chat client takes (lib/client-flags.ts clientFlags), worded for one stack.
func ClientFlags(stack string, protocols []string, pingTimeoutDefault string) []Spec {
	protocolHelp := "wire protocol: " + strings.Join(protocols, ", ")
	if len(protocols) == 1 {
		protocolHelp = "wire protocol: grpc (" + stack + " speaks gRPC only)"
	}
	return []Spec{
		{Name: "host", Help: "server address", Default: "127.0.0.1"},
		{Name: "port", Help: "server port", Default: "50051"},
		{Name: "protocol", Help: protocolHelp, Default: "grpc"},
		{Name: "name", Help: "name sent in the request", Default: "alice"},
		{Name: "text", Help: "text sent in the request", Default: "are you there?"},
		{Name: "ping-interval-ms", Help: "HTTP/2 keepalive: PING after this long without data", Default: "off"},
		{Name: "ping-timeout-ms", Help: "HTTP/2 keepalive: connection dead if a PING is unanswered this long", Default: pingTimeoutDefault},
		{Name: "timeout-ms", Help: "deadline for the whole call", Default: "none"},
		{Name: "idle-timeout-ms", Help: "abort the stream (deadline_exceeded) when no message came for this long", Default: "none"},
		{Name: "health", Boolean: true, Help: "instead of Chat, ask grpc.health.v1.Health/Check once; exit 0 only if SERVING"},
		{Name: "watch-health", Boolean: true, Help: "instead of Chat, call grpc.health.v1.Health/Watch and print each status until the stream ends"},
		{Name: "health-service", Help: "service to ask --health or --watch-health about", Default: `"" (the whole server)`},
		{Name: "method", Help: "instead of Chat, call this method of your own service, pkg.v1.Service/Method, from --descriptor-set (issue 28)", Default: "none"},
		{Name: "request", Help: "--method's request in protobuf's JSON form", Default: "{}"},
		{Name: "descriptor-set", Help: "--method's schema: a binary FileDescriptorSet with imports (buf build -o FILE)", Default: "none"},
		{Name: "target", Help: "a gRPC target instead of --host and --port, several addresses behind one name: ipv4:127.0.0.1:P1,127.0.0.2:P2", Default: "none"},
		{Name: "lb-policy", Help: "how a --target's addresses share the calls: " + strings.Join(LbPolicies, ", "), Default: "pick_first (the libraries')"},
		{Name: "ping-idle", Boolean: true, Help: "keepalive PINGs also while no call is open"},
		{Name: "health-check", Boolean: true, Help: `client-side health checking: healthCheckConfig {serviceName: ""} in the service config`},
		{Name: "wait-for-ready", Boolean: true, Help: "a call waits for the channel to be ready instead of failing at once"},
		{Name: "retry", Help: "attempts in all for a call that fails unavailable before its first message", Default: "1 (no retry)"},
		{Name: "options", Help: `library options as a JSON object, each under the library's own name; the other flags win over them`, Default: "none"},
		{Name: "tls-ca", Help: "speak HTTP/2 over TLS (ALPN h2), trusting the server certificates this PEM CA signed", Default: "none: h2c"},
		{Name: "calls", Help: "calls to make one after another on the same connection", Default: "1"},
		{Name: "call-gap-ms", Help: "pause between two calls", Default: "0"},
		{Name: "json", Boolean: true, Help: "print the result as one JSON object on the last stdout line"},
		{Name: "agent", Boolean: true, Help: "serve many calls from stdin, one JSON command per line: the lab's client agent (docs/agent-protocol.md)"},
	}
}

// CallFlagNames are what one call on an agent's channel may set for itself (lib/client-flags.ts callFlagNames).
var CallFlagNames = []string{"name", "text", "timeout-ms", "wait-for-ready", "health", "watch-health", "health-service"}

// ReadClientSettings reads and checks the client flags; a UsageError names a bad one.
func ReadClientSettings(f Flags, protocols []string) (*ClientSettings, error) {
	if f.Has("health") && f.Has("watch-health") {
		return nil, Usagef("--health and --watch-health: choose one")
	}
	s := &ClientSettings{
		Method:        "chat",
		HealthService: f.String("health-service", ""),
		Host:          f.String("host", "127.0.0.1"),
		Name:          f.String("name", "alice"),
		Text:          f.String("text", "are you there?"),
		Target:        f.String("target", ""),
		PingIdle:      f.Has("ping-idle"),
		HealthCheck:   f.Has("health-check"),
		WaitForReady:  f.Has("wait-for-ready"),
		JSON:          f.Has("json"),
		Agent:         f.Has("agent"),
	}
	if f.Has("health") {
		s.Method = "health-check"
	} else if f.Has("watch-health") {
		s.Method = "health-watch"
	} else if f.Has("method") {
		if !f.Has("descriptor-set") {
			return nil, Usagef("--method needs --descriptor-set FILE")
		}
		call, err := ReadDynamicCall(f.String("method", ""), f.String("request", "{}"), f.String("descriptor-set", ""))
		if err != nil {
			return nil, err
		}
		s.Method, s.Dynamic = "dynamic", call
	}
	var err error
	steps := []func() error{
		func() (e error) { s.Port, e = f.Int("port", 50051, 1, 65535); return },
		func() (e error) { s.Protocol, e = f.Choice("protocol", protocols, "grpc"); return },
		func() (e error) { s.PingIntervalMs, e = f.OptionalInt("ping-interval-ms", 1); return },
		func() (e error) { s.PingTimeoutMs, e = f.OptionalInt("ping-timeout-ms", 1); return },
		func() (e error) { s.TimeoutMs, e = f.OptionalInt("timeout-ms", 1); return },
		func() (e error) { s.IdleTimeoutMs, e = f.OptionalInt("idle-timeout-ms", 1); return },
		func() (e error) {
			if f.Has("lb-policy") {
				s.LbPolicy, e = f.Choice("lb-policy", LbPolicies, "pick_first")
			}
			return
		},
		func() (e error) { s.RetryAttempts, e = f.Int("retry", 1, 1, 10); return },
		func() (e error) { s.Options, e = ReadOptions(f); return },
		func() (e error) {
			if f.Has("tls-ca") {
				s.TLSCA, e = ReadPEM(f, "tls-ca")
			}
			return
		},
		func() (e error) { s.Calls, e = f.Int("calls", 1, 1, 1000); return },
		func() (e error) { s.CallGapMs, e = f.Int("call-gap-ms", 0, 0, MaxSafe); return },
	}
	for _, step := range steps {
		if err = step(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ReadOptions reads --options (lib/library-options.ts): a JSON object of the library's own options.
func ReadOptions(f Flags) (map[string]any, error) {
	raw, ok := f["options"]
	if !ok {
		return map[string]any{}, nil
	}
	var parsed any
	if err := json.Unmarshal([]byte(raw), &parsed); err != nil {
		return nil, Usagef("--options: not JSON: %s", strings.SplitN(err.Error(), "\n", 2)[0])
	}
	m, ok := parsed.(map[string]any)
	if !ok {
		return nil, Usagef("--options: must be a JSON object of library options")
	}
	return m, nil
}

// ServiceConfig is the gRPC service config the flags ask for (lib/grpc-js-caller.ts
// grpcServiceConfig): load balancing, health checking, a retry policy; nil for none.
func ServiceConfig(s *ClientSettings) map[string]any {
	if s.LbPolicy == "" && s.RetryAttempts <= 1 && !s.HealthCheck {
		return nil
	}
	config := map[string]any{}
	if s.LbPolicy != "" {
		config["loadBalancingConfig"] = []any{map[string]any{s.LbPolicy: map[string]any{}}}
	}
	if s.HealthCheck {
		config["healthCheckConfig"] = map[string]any{"serviceName": ""}
	}
	if s.RetryAttempts > 1 {
		config["methodConfig"] = []any{map[string]any{
			"name": []any{map[string]any{"service": "chat.v1.ChatService"}, map[string]any{"service": "grpc.health.v1.Health"}},
			"retryPolicy": map[string]any{
				"maxAttempts":          s.RetryAttempts,
				"initialBackoff":       "0.25s",
				"maxBackoff":           "2s",
				"backoffMultiplier":    RetryPolicy.Multiplier,
				"retryableStatusCodes": []any{"UNAVAILABLE"},
			},
		}}
	}
	return config
}

// MergeServiceConfig puts the program's own service config into the user's (lib/library-options.ts
// mergeServiceConfig): the program's top-level fields win, its method config's fields go into each
// of the user's entries, so that no method is named twice.
func MergeServiceConfig(user any, own map[string]any) map[string]any {
	var base map[string]any
	switch u := user.(type) {
	case string:
		_ = json.Unmarshal([]byte(u), &base)
	case map[string]any:
		base = u
	}
	if base == nil {
		return own
	}
	if own == nil {
		return base
	}
	merged := map[string]any{}
	for k, v := range base {
		merged[k] = v
	}
	for k, v := range own {
		if k != "methodConfig" {
			merged[k] = v
		}
	}
	ownMethods, _ := own["methodConfig"].([]any)
	if len(ownMethods) == 0 {
		return merged
	}
	first := ownMethods[0].(map[string]any)
	userMethods, _ := base["methodConfig"].([]any)
	named := map[string]bool{}
	var out []any
	for _, m := range userMethods {
		entry, _ := m.(map[string]any)
		copyEntry := map[string]any{}
		for k, v := range entry {
			copyEntry[k] = v
		}
		for k, v := range first {
			if k != "name" {
				copyEntry[k] = v
			}
		}
		names, _ := entry["name"].([]any)
		for _, n := range names {
			key, _ := json.Marshal(n)
			named[string(key)] = true
		}
		out = append(out, copyEntry)
	}
	var rest []any
	for _, n := range first["name"].([]any) {
		key, _ := json.Marshal(n)
		if !named[string(key)] {
			rest = append(rest, n)
		}
	}
	if len(rest) > 0 {
		entry := map[string]any{}
		for k, v := range first {
			entry[k] = v
		}
		entry["name"] = rest
		out = append(out, entry)
	}
	merged["methodConfig"] = out
	return merged
}
