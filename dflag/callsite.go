package dflag

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"time"

	engine "bounded.dev/internal/patch"
)

// Call sites are the second kind of record: every direct call to a
// registered function is switched by rewriting the call instruction itself
// (see OptCalls). The registry calls patch, the seam between the two, with
// reg.mu held.

// Guarded by reg.mu.
var (
	// siteTarget maps each call-site record's address to the entry of the
	// function it calls.
	siteTarget = map[uintptr]uintptr{}
	// siteFlag maps each call-site address to its record, to refuse a
	// second registration of the same instruction.
	siteFlag = map[uintptr]*Flag{}
	// changeBuf is reused by patch.
	changeBuf []engine.Change
)

// OptCalls registers every direct call to fn in the running program (the
// executable, or the library under -buildmode=c-shared) as an Opt record:
// the calls run until [Init], then are switched off until the record is
// activated. fn must be a top-level function (or a method expression such
// as T.M) without results, marked //go:noinline so that the compiler leaves
// calls to it, typically advice that is always safe to run but can be
// skipped:
//
//	//go:noinline
//	func traceQuery(q string) { ... }
//
//	func init() {
//		if _, err := dflag.OptCalls("request_tracing", "db_query", traceQuery, "trace SQL statements"); err != nil {
//			slog.Warn("db_query advice keeps running", "err", err) // the calls stay on: safe
//		}
//	}
//
// Each call site is its own record, named kind:name@file:line after the
// call's own source line (file is import-path-qualified, as for hook
// flags), in the same registry as hook flags: [Activate], [Unhook], [List],
// [WriteList], [Apply], [HoldKind] and the kind operations switch them as
// they switch hook flags, and [State.CallSite] tells them apart. For a call
// site, [Flag.On] reports whether the call runs, also after a failed
// switch. A call site is switched by rewriting its call instruction, on
// linux/amd64 (CALL <-> TEST, one byte) and linux/arm64 (BL <-> NOP, one
// word, with the cache maintenance the architecture requires); elsewhere
// OptCalls fails and the calls keep running. See [PatchStatus],
// docs/callsites.md and docs/arm64.md.
//
// What is a site: a direct call f(x); go f(x) and defer f(x), whose
// compiler wrappers call f (named after the go or defer statement); the
// call at the exits of a function with an open-coded defer f() (named
// after the line where it returns; when the function panics the runtime
// calls f through its value, so that call runs even when the site is off);
// and the call in a compiler wrapper with no line of its own, the method
// wrapper through which pointer and interface calls reach a value method
// and the ABI0 wrapper through which assembly calls a function with
// arguments (named after fn's declaration). Not sites, and they keep
// calling: go f(), defer f() where it is not open-coded, calls through a
// func value or an interface without a wrapper, jumps (tail calls), and
// calls written in assembly, which are refused.
//
// OptCalls returns the number of call sites registered. A registration
// after Init takes its initial state at once (an Opt call site is switched
// off unless its kind is held). It returns an error that says what to do,
// and registers nothing, when kind or name is invalid; when fn is not a
// function, is nil, has results (a skipped call would leave garbage in
// them), or is a closure, a method value or a generic instantiation (whose
// calls do not call fn's code directly); when fn has no direct call site
// (the compiler inlined it, or it is only called in ways that are not
// sites); when a call site is already registered; and when call sites
// cannot be patched in this process, in which case every call keeps
// running (both Opt and Default allow that) and PatchStatus says why. When
// the engine found calls it refuses to patch (in hand-written assembly, or
// in a function its decoder cannot walk) besides verified sites, OptCalls
// registers the verified sites and returns their number with an error that
// lists the refused calls, which keep calling.
func OptCalls(kind, name string, fn any, doc ...string) (int, error) {
	return registerCalls("OptCalls", OptMode, kind, name, fn, doc)
}

// DefaultCalls registers every direct call to fn as a Default record: the
// calls run until the record is deactivated (activation count 1 from the
// start). fn and the errors are as for [OptCalls].
func DefaultCalls(kind, name string, fn any, doc ...string) (int, error) {
	return registerCalls("DefaultCalls", DefaultMode, kind, name, fn, doc)
}

// PatchStatus returns nil when call sites can be patched in this process
// (on linux/amd64 and linux/arm64), or an error saying why not: another
// platform, which the engine has no instruction set for; on linux/arm64,
// a kernel without membarrier SYNC_CORE (before Linux 4.16); the kernel
// refusing to make code writable (SELinux, PaX MPROTECT, seccomp;
// errors.Is matches the errno, and once refused, calls can still be
// switched back on but no longer off); or the program's text not found in
// /proc/self/maps. The first call runs a self-test that switches a call
// site of the engine's own off and on again. Without patching, [OptCalls]
// and [DefaultCalls] fail and every call keeps running, which both
// constructors allow.
func PatchStatus() error {
	if err := engine.Status(); err != nil {
		return fmt.Errorf("dflag: call sites cannot be patched, calls keep running: %w", err)
	}
	return nil
}

// registerCalls implements OptCalls and DefaultCalls.
func registerCalls(api string, mode Mode, kind, name string, fn any, doc []string) (int, error) {
	what := fmt.Sprintf("dflag.%s(%q, %q)", api, kind, name)
	if err := checkName(kind, name); err != nil {
		return 0, fmt.Errorf("%s: %v", what, err)
	}
	target, fname, err := callTarget(fn)
	if err != nil {
		return 0, fmt.Errorf("%s: %v", what, err)
	}
	if err := PatchStatus(); err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	sites, err := engine.Find(target)
	var refused *engine.RefusedError
	switch {
	case errors.Is(err, engine.ErrNoCallSites) && !errors.As(err, &refused):
		sym := fname[strings.LastIndexByte(fname, '/')+1:]
		sym = sym[strings.IndexByte(sym, '.')+1:]
		return 0, fmt.Errorf("%s: no direct call to %s in the executable: the compiler probably inlined it (add //go:noinline to its declaration), or it is only called through a function value (go %s() or defer %s() without arguments, a func variable) or from assembly, which are not call sites and keep calling", what, fname, sym, sym)
	case errors.As(err, &refused) && len(sites) > 0:
		// Register the verified sites; report the refused calls after.
	case err != nil:
		return 0, fmt.Errorf("%s: %w", what, err)
	}

	reg.mu.Lock()
	for _, s := range sites {
		if f := siteFlag[s.Addr]; f != nil {
			reg.mu.Unlock()
			return 0, fmt.Errorf("%s: the call to %s at %#x is already registered as %s", what, fname, s.Addr, f.full)
		}
	}
	d := strings.Join(doc, " ")
	fs := make([]*Flag, len(sites))
	for i, s := range sites {
		file, line := sourceLine(s.Addr + 1) // +1: a PC inside the CALL
		if s.Wrapper != "" {
			// A compiler-generated wrapper has no line of its own: name
			// the site after the function's declaration.
			file, line = sourceLine(s.Target + 1)
		}
		f := newFlag(mode, kind, name, d, file, line, s.Addr)
		f.on.Store(s.Call) // what the code does now
		siteTarget[s.Addr] = target
		siteFlag[s.Addr] = f
		registerLocked(f)
		fs[i] = f
	}
	ev := Event{Op: OpRegister, Kind: kind, Pattern: name, Matched: len(fs)}
	ev.Flipped, ev.Patched, ev.PatchTime, err = syncLocked(fs)
	reg.mu.Unlock()
	notify(ev)
	if err != nil {
		return len(fs), fmt.Errorf("%s: registered %d call sites of %s but could not switch them all (those keep calling): %w", what, len(fs), fname, err)
	}
	if refused != nil {
		return len(fs), fmt.Errorf("%s: registered %d call sites of %s; %w", what, len(fs), fname, refused)
	}
	return len(fs), nil
}

// callTarget checks that fn is a top-level function whose calls can be
// switched off and returns its entry and name.
func callTarget(fn any) (uintptr, string, error) {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func {
		return 0, "", fmt.Errorf("fn is %T, not a function: pass a top-level //go:noinline function, such as pkg.F", fn)
	}
	if v.IsNil() {
		return 0, "", fmt.Errorf("fn is a nil %T: pass a top-level //go:noinline function", fn)
	}
	target := v.Pointer()
	f := runtime.FuncForPC(target)
	if f == nil {
		return 0, "", fmt.Errorf("fn (%T at %#x) is not a Go function of this executable", fn, target)
	}
	fname := f.Name()
	switch {
	case strings.Contains(fname, "["):
		return 0, "", fmt.Errorf("fn is %s, a generic instantiation: calls go to a shared shape instantiation, not to it; pass a non-generic top-level //go:noinline function", fname)
	case strings.HasSuffix(fname, "-fm"):
		return 0, "", fmt.Errorf("fn is %s, a method value (a closure over its receiver): pass a top-level //go:noinline function", strings.TrimSuffix(fname, "-fm"))
	case isClosure(fname):
		return 0, "", fmt.Errorf("fn is %s, a closure: it is called through a function value, never directly; pass a top-level //go:noinline function", fname)
	}
	if t := v.Type(); t.NumOut() > 0 {
		return 0, "", fmt.Errorf("fn is %s of type %s: a switched-off call would leave garbage in its results; pass a function without results", fname, t)
	}
	return target, fname, nil
}

// isClosure reports whether a symbol name is a function literal's, such
// as pkg.F.func1, pkg.F.func1.2, pkg.glob..func3 or pkg.F-range1 (the body
// of a range-over-func loop).
func isClosure(fname string) bool {
	sym := fname[strings.LastIndexByte(fname, '/')+1:]
	if strings.Contains(sym, "-range") {
		return true
	}
	parts := strings.Split(sym, ".")
	if len(parts) < 3 {
		return false // pkg.F: a top-level function
	}
	for _, p := range parts[2:] { // after the package and the outer name
		digits := strings.TrimPrefix(p, "func")
		if digits != "" && strings.Trim(digits, "0123456789") == "" {
			return true
		}
	}
	return false
}

// patch is the seam between the registry and the call-site engine: with
// reg.mu held, it switches the call sites whose wanted value (f.want())
// differs from their current one, in one batch, records in each f.on
// whether its call runs afterwards, and returns how many sites it changed,
// the time spent and the engine's error, if any.
func patch(sites []*Flag) (patched int, took time.Duration, err error) {
	if len(sites) == 0 {
		return 0, 0, nil
	}
	start := time.Now()
	// Sorted by address, as Apply sorts its changes: the two stay aligned.
	slices.SortFunc(sites, func(a, b *Flag) int { return cmp.Compare(a.addr, b.addr) })
	changes := changeBuf[:0]
	for _, f := range sites {
		changes = append(changes, engine.Change{Addr: f.addr, Target: siteTarget[f.addr], Call: f.want()})
	}
	patched, err = engine.Apply(changes)
	for i, f := range sites {
		f.on.Store(changes[i].Calls)
	}
	clear(changes)
	changeBuf = changes[:0]
	return patched, time.Since(start), err
}
