package golab

import (
	"time"
)

// Options are a stack's --options, read by the names the library's users write in code
// (lab/catalogue/library-options.ts); each read marks the name used, and Unused names the rest.
type Options struct {
	m    map[string]any
	used map[string]bool
	err  error
}

// NewOptions wraps --options.
func NewOptions(m map[string]any) *Options { return &Options{m: m, used: map[string]bool{}} }

// Ms is a duration option given in ms, and whether it was given.
func (o *Options) Ms(name string) (time.Duration, bool) {
	v, ok := o.number(name)
	return time.Duration(v) * time.Millisecond, ok
}

// Count is a whole-number option, and whether it was given.
func (o *Options) Count(name string) (int64, bool) {
	v, ok := o.number(name)
	return int64(v), ok
}

// Bool is a boolean option (true/false, or 0/1), and whether it was given.
func (o *Options) Bool(name string) (bool, bool) {
	v, ok := o.m[name]
	if !ok {
		return false, false
	}
	o.used[name] = true
	switch b := v.(type) {
	case bool:
		return b, true
	case float64:
		return b != 0, true
	}
	o.fail(name, v, "true or false")
	return false, false
}

// Raw is an option as JSON gave it (a service config), and whether it was given.
func (o *Options) Raw(name string) (any, bool) {
	v, ok := o.m[name]
	if ok {
		o.used[name] = true
	}
	return v, ok
}

func (o *Options) number(name string) (float64, bool) {
	v, ok := o.m[name]
	if !ok {
		return 0, false
	}
	o.used[name] = true
	n, isNumber := v.(float64)
	if !isNumber || n < 0 || n != float64(int64(n)) {
		o.fail(name, v, "a whole number >= 0")
		return 0, false
	}
	return n, true
}

func (o *Options) fail(name string, v any, want string) {
	if o.err == nil {
		o.err = Usagef("--options: %q must be %s, got %v", name, want, v)
	}
}

// Check is a UsageError for a bad value, or for an option this program does not know.
func (o *Options) Check() error {
	if o.err != nil {
		return o.err
	}
	for name := range o.m {
		if !o.used[name] {
			return Usagef("--options: %s does not pass %q to its library", "this program", name)
		}
	}
	return nil
}
