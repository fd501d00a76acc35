package dflag

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"bounded.dev/internal/srcpath"
)

// Mode is the constructor a flag was declared with; it fixes the flag's value
// before [Init] and when the library cannot switch it.
type Mode uint8

// The three constructors of the C library.
const (
	ModeFeature Mode = iota // off, and off until activated
	ModeDefault             // on: activation 1 from the start
	ModeOpt                 // on until Init, then off until activated
)

// The former names of the modes, which put the type last (the control
// operations' constants, like the standard library's, put it first).
const (
	// Deprecated: use ModeFeature.
	FeatureMode = ModeFeature
	// Deprecated: use ModeDefault.
	DefaultMode = ModeDefault
	// Deprecated: use ModeOpt.
	OptMode = ModeOpt
)

// String returns "feature", "default" or "opt".
func (m Mode) String() string {
	switch m {
	case ModeFeature:
		return "feature"
	case ModeDefault:
		return "default"
	case ModeOpt:
		return "opt"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Flag is one dynamic flag record: a hook checked with [Flag.On], or a
// patched call site. Flags are created by [Feature], [Default] and [Opt] and
// are never freed; declare them in package-level variables.
type Flag struct {
	// on is the flag's current value. It is first so that On compiles to a
	// load at offset zero from the flag pointer.
	on atomic.Bool

	kind string
	name string
	doc  string
	file string
	line int
	full string // kind:name@file:line
	mode Mode
	seq  int // registration order, the final tie-break when listing

	// Guarded by reg.mu.
	activation uint64
	unhook     uint64
	kindHeld   uint64        // the part of activation that HoldKind holds added
	holds      []heldBy      // what live holds say about the flag
	startup    []startupTerm // the startup terms Init applied to the flag

	// addr is the address of the CALL instruction for a call-site record,
	// 0 for a hook flag. Call-site records are switched by patch (callsite.go).
	addr uintptr
}

// On reports whether the flag is enabled. It inlines to one atomic load.
func (f *Flag) On() bool { return f.on.Load() }

// Name returns the flag's full name, kind:name@file:line.
func (f *Flag) Name() string { return f.full }

// String returns the flag's full name.
func (f *Flag) String() string { return f.full }

// Kind returns the flag's kind.
func (f *Flag) Kind() string { return f.kind }

// Doc returns the flag's docstring, "" if it has none.
func (f *Flag) Doc() string { return f.doc }

// Mode returns the constructor the flag was declared with.
func (f *Flag) Mode() Mode { return f.mode }

// Feature declares a flag that is off until activated. It panics, naming the
// call site, if kind is not an identifier or name is empty or contains '@'
// or a newline.
func Feature(kind, name string, doc ...string) *Flag {
	return declare(ModeFeature, kind, name, doc)
}

// Default declares a flag that is on (activation count 1) until deactivated.
// It panics like [Feature] on an invalid kind or name.
func Default(kind, name string, doc ...string) *Flag {
	return declare(ModeDefault, kind, name, doc)
}

// Opt declares a flag for code that is always safe to run but can be skipped
// for speed: it is on until [Init], then off until activated. It panics like
// [Feature] on an invalid kind or name.
func Opt(kind, name string, doc ...string) *Flag {
	return declare(ModeOpt, kind, name, doc)
}

// Declare is the constructor behind [Feature], [Default] and [Opt] for
// packages that wrap them (package aspect does): the flag is named after the
// source line skip frames above Declare's caller, as in [runtime.Caller]
// (skip 0 names the line that calls Declare). It panics like [Feature].
func Declare(skip int, mode Mode, kind, name string, doc ...string) *Flag {
	if mode > ModeOpt {
		panic(fmt.Sprintf("dflag: invalid mode %d", mode))
	}
	return declareAt(skip+2, mode, kind, name, doc)
}

// declare registers a hook flag named after its caller's caller.
func declare(mode Mode, kind, name string, doc []string) *Flag {
	return declareAt(3, mode, kind, name, doc)
}

// declareAt registers a hook flag named after the frame skip levels above
// declareAt.
func declareAt(skip int, mode Mode, kind, name string, doc []string) *Flag {
	file, line := "?", 0
	var pcs [1]uintptr
	if runtime.Callers(skip+1, pcs[:]) == 1 {
		file, line = sourceLine(pcs[0])
	}
	if err := checkName(kind, name); err != nil {
		panic(fmt.Sprintf("dflag: %s:%d: %v", file, line, err))
	}
	f := newFlag(mode, kind, name, strings.Join(doc, " "), file, line, 0)
	register(f)
	return f
}

// newFlag builds a record; register publishes it.
func newFlag(mode Mode, kind, name, doc, file string, line int, addr uintptr) *Flag {
	f := &Flag{
		kind: kind, name: name, doc: doc, file: file, line: line, mode: mode, addr: addr,
		full: kind + ":" + name + "@" + file + ":" + strconv.Itoa(line),
	}
	if mode == ModeDefault {
		f.activation = 1
	}
	return f
}

// checkName validates a kind and a name as the C library's macros would.
func checkName(kind, name string) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	switch {
	case name == "":
		return fmt.Errorf("empty flag name for kind %q", kind)
	case strings.ContainsAny(name, "@\n\x00"):
		return fmt.Errorf("flag name %q must not contain '@', a newline or NUL", name)
	}
	return nil
}

// CheckKind returns nil if kind can name a kind of flags (an identifier,
// [A-Za-z_][A-Za-z0-9_]*), or an error that says why not. It is the one
// kind-name check: the constructors, the kind operations, [HoldKind],
// aspect.New and phase.Of all make it. Use it on a kind that comes from
// input.
func CheckKind(kind string) error {
	if err := checkKind(kind); err != nil {
		return fmt.Errorf("dflag: %w", err)
	}
	return nil
}

// checkKind is CheckKind without the package prefix.
func checkKind(kind string) error {
	if kind == "" {
		return fmt.Errorf("empty kind: name the kind with an identifier, such as request_tracing")
	}
	if !isIdent(kind) {
		return fmt.Errorf("kind %q is not an identifier ([A-Za-z_][A-Za-z0-9_]*)", kind)
	}
	return nil
}

// isIdent reports whether s is a non-empty identifier
// ([A-Za-z_][A-Za-z0-9_]*). It looks at bytes: a non-ASCII byte is not
// in the set.
func isIdent(s string) bool {
	if s == "" || '0' <= s[0] && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if identByte[s[i]] == 0 {
			return false
		}
	}
	return true
}

// identByte marks the bytes of an identifier.
var identByte = func() (t [256]uint8) {
	for c := range 256 {
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			t[c] = 1
		}
	}
	return t
}()

// sourceLine returns the source position of the instruction before pc, as
// runtime.Callers reports return addresses (pass address+1 for the position
// of the instruction at address), for the innermost function when code was
// inlined. The file name is made independent of the build directory:
// import-path-qualified, as go build -trimpath prints it (for example
// bounded.dev/dflag/flag.go), never an absolute path.
func sourceLine(pc uintptr) (file string, line int) { return srcpath.Frame(pc) }
