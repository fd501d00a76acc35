//go:build linux && (amd64 || arm64)

package dflag_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/internal/patch"
	"bounded.dev/internal/patch/seccomp"
	"golang.org/x/sys/unix"
)

// Each test patches its own target so that the tests stay independent.
var (
	preHits, oneHits, kindHits, lateHits, stressHits atomic.Int64
)

//go:noinline
func csPre() { preHits.Add(1) }

//go:noinline
func callPre() { csPre() }

//go:noinline
func csOne(bit int64) { oneHits.Add(bit) }

//go:noinline
func callOne(which int64) {
	if which&1 != 0 {
		csOne(1)
	}
	if which&2 != 0 {
		csOne(2)
	}
	if which&4 != 0 {
		csOne(4)
	}
}

//go:noinline
func csKind() { kindHits.Add(1) }

//go:noinline
func callKind() { csKind(); csKind() }

//go:noinline
func csLateOpt() { lateHits.Add(1) }

//go:noinline
func csLateDefault() { lateHits.Add(10) }

//go:noinline
func csLateHeld() { lateHits.Add(100) }

//go:noinline
func callLate() { csLateOpt(); csLateDefault(); csLateHeld() }

//go:noinline
func csStress() { stressHits.Add(1) }

//go:noinline
func callStress() { csStress() }

// Registered at package level, before TestMain calls Init (and once, even
// with -count).
var (
	preN, preErr = dflag.OptCalls("cs_pre", "pre", csPre, "registered before Init")
	oneN, oneErr = dflag.DefaultCalls("cs_one", "site", csOne)
	_, kindErr   = dflag.OptCalls("cs_kind", "pair", csKind, "two calls on one line")
	_, stressErr = dflag.OptCalls("cs_stress", "flip", csStress)

	preCallsBeforeInit int64
)

func init() {
	callPre()
	preCallsBeforeInit = preHits.Load()
}

// csList returns the records matching pattern.
func csList(t *testing.T, pattern string) []dflag.State {
	t.Helper()
	states, err := dflag.List(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return states
}

// exact is a pattern matching exactly the record named name.
func exact(name string) string { return "^" + regexp.QuoteMeta(name) + "$" }

// lineOf returns the source line of fn's entry (one-line functions hold
// their call there).
func lineOf(fn any) int {
	pc := reflect.ValueOf(fn).Pointer()
	_, line := runtime.FuncForPC(pc).FileLine(pc)
	return line
}

func TestCallSitesOptBeforeAndAfterInit(t *testing.T) {
	if preErr != nil || preN != 1 {
		t.Fatalf("OptCalls before Init = %d, %v; want 1, nil", preN, preErr)
	}
	if preCallsBeforeInit != 1 {
		t.Errorf("before Init the Opt call ran %d times, want 1", preCallsBeforeInit)
	}
	states := csList(t, "cs_pre:")
	if len(states) != 1 {
		t.Fatalf("%d records", len(states))
	}
	s := states[0]
	want := "cs_pre:pre@bounded.dev/dflag/callsite_test.go:" + strconv.Itoa(lineOf(callPre))
	if s.Name != want || !s.CallSite() || s.Addr == 0 || s.Mode != dflag.OptMode || s.On || s.Activation != 0 || s.Doc != "registered before Init" {
		t.Errorf("after Init: %+v, want %s, an Opt call site, off", s, want)
	}
	before := preHits.Load()
	callPre()
	if preHits.Load() != before {
		t.Fatal("the Opt call still runs after Init")
	}
	n, err := dflag.Activate("cs_pre:")
	if err != nil || n != 1 {
		t.Fatalf("Activate = %d, %v", n, err)
	}
	callPre()
	if preHits.Load() != before+1 {
		t.Error("the activated call does not run")
	}
	if s := csList(t, "cs_pre:")[0]; !s.On || s.Activation != 1 {
		t.Errorf("activated: %+v", s)
	}
	dflag.Deactivate("cs_pre:")
	callPre()
	if preHits.Load() != before+1 {
		t.Error("the deactivated call runs")
	}
}

func TestCallSitesOneByOne(t *testing.T) {
	if oneErr != nil || oneN != 3 {
		t.Fatalf("DefaultCalls = %d, %v; want 3 sites", oneN, oneErr)
	}
	states := csList(t, "cs_one:site@")
	if len(states) != 3 {
		t.Fatalf("%d records", len(states))
	}
	for i, s := range states {
		if !s.On || s.Activation != 1 || s.Mode != dflag.DefaultMode || !s.CallSite() {
			t.Errorf("site %d: %+v, want an enabled Default call site", i, s)
		}
		if i > 0 && s.Line <= states[i-1].Line {
			t.Errorf("records not sorted by line: %d after %d", s.Line, states[i-1].Line)
		}
	}
	run := func() int64 {
		before := oneHits.Load()
		callOne(7)
		return oneHits.Load() - before
	}
	if got := run(); got != 7 {
		t.Fatalf("all on: %d, want 7", got)
	}
	for i, s := range states {
		bit := int64(1) << i // the sites are in source order
		if n, err := dflag.Deactivate(exact(s.Name)); err != nil || n != 1 {
			t.Fatalf("Deactivate(%s) = %d, %v", s.Name, n, err)
		}
		if got := run(); got != 7-bit {
			t.Errorf("%s off: %d, want %d", s.Name, got, 7-bit)
		}
		dflag.Activate(exact(s.Name))
		if got := run(); got != 7 {
			t.Errorf("%s back on: %d, want 7", s.Name, got)
		}
	}
	// Deactivation saturates; one Activate brings a saturated site back.
	dflag.Deactivate("cs_one:")
	dflag.Deactivate("cs_one:")
	if got := run(); got != 0 {
		t.Errorf("all off: %d", got)
	}
	dflag.Apply("+cs_one:")
	if got := run(); got != 7 {
		t.Errorf("after +cs_one: %d", got)
	}
}

func TestCallSitesKindAndUnhook(t *testing.T) {
	if kindErr != nil {
		t.Fatal(kindErr)
	}
	run := func() int64 {
		before := kindHits.Load()
		callKind()
		return kindHits.Load() - before
	}
	if got := run(); got != 0 {
		t.Fatalf("after Init: %d calls ran", got)
	}
	if n, err := dflag.ActivateKind("cs_kind", ""); err != nil || n != 2 {
		t.Fatalf("ActivateKind = %d, %v; want 2 sites", n, err)
	}
	if got := run(); got != 2 {
		t.Errorf("kind on: %d, want 2", got)
	}
	dflag.DeactivateKind("cs_kind", "")
	if got := run(); got != 0 {
		t.Errorf("kind off: %d", got)
	}

	// Two calls on one line share a full name; WriteList prints it once.
	var buf bytes.Buffer
	dflag.WriteList(&buf, "cs_kind:")
	want := "cs_kind:pair@bounded.dev/dflag/callsite_test.go:" + strconv.Itoa(lineOf(callKind)) + " (off): two calls on one line\n"
	if buf.String() != want {
		t.Errorf("WriteList = %q, want %q", buf.String(), want)
	}

	if err := dflag.Apply("!cs_kind:"); err != nil {
		t.Fatal(err)
	}
	dflag.ActivateKind("cs_kind", "")
	if got := run(); got != 0 {
		t.Errorf("unhooked: %d calls ran", got)
	}
	for _, s := range csList(t, "cs_kind:") {
		if s.On || s.Activation != 0 || s.Unhook != 1 {
			t.Errorf("unhooked: %+v", s)
		}
	}
	dflag.Rehook("cs_kind:")
	dflag.ActivateKind("cs_kind", "")
	if got := run(); got != 2 {
		t.Errorf("rehooked and activated: %d", got)
	}
	// Unhook leaves an active site on; deactivation still applies.
	dflag.Unhook("cs_kind:")
	if got := run(); got != 2 {
		t.Errorf("unhooked while on: %d", got)
	}
	dflag.DeactivateKind("cs_kind", "")
	if got := run(); got != 0 {
		t.Errorf("deactivated while unhooked: %d", got)
	}
	dflag.Rehook("cs_kind:")
}

var late = sync.OnceValue(func() error {
	var events []dflag.Event
	stop := dflag.Watch(func(ev dflag.Event) {
		if ev.Op == dflag.OpRegister {
			events = append(events, ev)
		}
	})
	_, err := dflag.OptCalls("cs_late", "opt", csLateOpt)
	stop()
	if err != nil {
		return err
	}
	// The registration switched the Opt site off, and says so.
	if len(events) != 1 || events[0].Kind != "cs_late" || events[0].Matched != 1 || events[0].Flipped != 1 || events[0].Patched != 1 {
		return fmt.Errorf("register events %+v, want one with 1 site matched, flipped and patched", events)
	}
	if _, err := dflag.DefaultCalls("cs_late", "default", csLateDefault); err != nil {
		return err
	}
	release, err := dflag.HoldKind("cs_held")
	if err != nil {
		return err
	}
	defer release()
	if _, err := dflag.OptCalls("cs_held", "opt", csLateHeld); err != nil {
		return err
	}
	before := lateHits.Load()
	callLate()
	if got := lateHits.Load() - before; got != 110 {
		return errors.New("registered after Init: the calls that ran add up to " + strconv.FormatInt(got, 10) + ", want 110 (default and held)")
	}
	return nil
})

func TestCallSitesRegisteredAfterInit(t *testing.T) {
	if err := late(); err != nil {
		t.Fatal(err)
	}
	// The hold was released.
	before := lateHits.Load()
	callLate()
	if got := lateHits.Load() - before; got != 10 {
		t.Errorf("after the release: %d, want 10", got)
	}
}

type csRecv struct{}

//go:noinline
func (csRecv) Method() {}

//go:noinline
func csGeneric[T any](T) {}

//go:noinline
func csResult() int { return 1 }

//go:noinline
func csNeverCalled() {}

// csInlinable is small enough for the compiler to inline at its one call.
func csInlinable() { kindHits.Add(0) }

//go:noinline
func callInlinable() { csInlinable() }

func TestCallSitesErrors(t *testing.T) {
	var nilFn func()
	callInlinable()
	for _, c := range []struct {
		what string
		fn   any
		want string
	}{
		{"int", 42, "not a function"},
		{"nil func", nilFn, "nil func()"},
		{"closure", func() { kindHits.Add(0) }, "a closure"},
		{"method value", csRecv{}.Method, "a method value"},
		{"generic", csGeneric[int], "generic instantiation"},
		{"results", csResult, "without results"},
		{"never called", csNeverCalled, "probably inlined it (add //go:noinline"},
		{"inlined", csInlinable, "probably inlined it (add //go:noinline"},
		{"already registered", csPre, "already registered as cs_pre:pre@"},
	} {
		n, err := dflag.OptCalls("cs_err", c.what, c.fn)
		if n != 0 || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: OptCalls = %d, %v; want an error containing %q", c.what, n, err, c.want)
		}
	}
	if n, err := dflag.DefaultCalls("bad kind", "x", csNeverCalled); n != 0 || err == nil || !strings.Contains(err.Error(), "not an identifier") {
		t.Errorf("bad kind: %d, %v", n, err)
	}
	if n, err := dflag.DefaultCalls("cs_err", "a@b", csNeverCalled); n != 0 || err == nil {
		t.Errorf("bad name: %d, %v", n, err)
	}
	if states := csList(t, "cs_err:"); len(states) != 0 {
		t.Errorf("failed registrations left records: %v", states)
	}
	if err := dflag.PatchStatus(); err != nil {
		t.Errorf("PatchStatus = %v", err)
	}
}

// TestCallSitesStress executes a call site on several goroutines while
// another switches its kind on and off thousands of times.
func TestCallSitesStress(t *testing.T) {
	if stressErr != nil {
		t.Fatal(stressErr)
	}
	flips := 2000
	if testing.Short() {
		flips = 200
	}
	st := patch.ReadStats()
	start := stressHits.Load()
	var calls atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			n := int64(0)
			for !stop.Load() {
				callStress()
				n++
			}
			calls.Add(n)
		})
	}
	for range flips {
		if n, err := dflag.ActivateKind("cs_stress", ""); n != 1 || err != nil {
			t.Fatalf("ActivateKind = %d, %v", n, err)
		}
		if n, err := dflag.DeactivateKind("cs_stress", ""); n != 1 || err != nil {
			t.Fatalf("DeactivateKind = %d, %v", n, err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if ran := stressHits.Load() - start; ran > calls.Load() {
		t.Errorf("%d calls ran, %d executed", ran, calls.Load())
	}
	// One store per switch: the opcode byte on amd64, the word on arm64.
	perSwitch := map[string]uint64{"amd64": 1, "arm64": 4}[runtime.GOARCH]
	if got, want := patch.ReadStats().Bytes-st.Bytes, 2*uint64(flips)*perSwitch; got != want {
		t.Errorf("%d bytes written for %d flips, want %d", got, flips, want)
	}
	s := csList(t, "cs_stress:")[0]
	if s.On || s.Activation != 0 {
		t.Errorf("after the stress: %+v", s)
	}
	before := stressHits.Load()
	for range 1000 {
		callStress()
	}
	if stressHits.Load() != before {
		t.Error("the call runs after the last DeactivateKind")
	}
	dflag.ActivateKind("cs_stress", "")
	for range 1000 {
		callStress()
	}
	if got := stressHits.Load() - before; got != 1000 {
		t.Errorf("%d calls ran after ActivateKind, want 1000", got)
	}
	dflag.DeactivateKind("cs_stress", "")
}

var faultHits atomic.Int64

//go:noinline
func csFaultOpt() { faultHits.Add(1) }

//go:noinline
func csFaultDefault() { faultHits.Add(10) }

//go:noinline
func callFault() { csFaultOpt(); csFaultDefault() }

// TestCallSitesTruthfulUnderFault switches call sites in a child process
// whose seccomp filter refuses to make code writable: whatever the
// registry's control calls return, every record's On says whether its
// call runs.
func TestCallSitesTruthfulUnderFault(t *testing.T) {
	if !seccomp.Child(t) {
		return
	}
	// Registered in the child only, after Init: the Opt site is switched
	// off, the Default site runs.
	if n, err := dflag.OptCalls("cs_fault", "opt", csFaultOpt); n != 1 || err != nil {
		t.Fatalf("OptCalls = %d, %v", n, err)
	}
	if n, err := dflag.DefaultCalls("cs_fault", "default", csFaultDefault); n != 1 || err != nil {
		t.Fatalf("DefaultCalls = %d, %v", n, err)
	}
	check := func(when string) {
		t.Helper()
		before := faultHits.Load()
		callFault()
		ran := faultHits.Load() - before
		for _, s := range csList(t, "cs_fault:") {
			runs := ran == 1 || ran == 11
			if strings.HasPrefix(s.Name, "cs_fault:default@") {
				runs = ran >= 10
			}
			if s.On != runs {
				t.Errorf("%s: %s: On = %v, but the call runs = %v", when, s.Name, s.On, runs)
			}
		}
	}
	check("before the filter")
	seccomp.Require(t, seccomp.Rule{Write: true})
	an, aerr := dflag.Activate("cs_fault:opt@")
	dn, derr := dflag.Deactivate("cs_fault:default@")
	if an != 1 || dn != 1 {
		t.Fatalf("Activate matched %d, Deactivate %d; want 1 each", an, dn)
	}
	// The registry reports the engine's error from control calls.
	if !errors.Is(aerr, patch.ErrMprotect) || !errors.Is(derr, patch.ErrMprotect) {
		t.Errorf("under the filter: Activate: %v; Deactivate: %v; want ErrMprotect", aerr, derr)
	}
	check("under the filter")
	if err := dflag.PatchStatus(); !errors.Is(err, patch.ErrMprotect) {
		t.Errorf("PatchStatus = %v, want ErrMprotect", err)
	}
}

// The compiler's wrappers: go and defer statements with arguments, method
// wrappers. Each target adds its own weight to wrapHits.
var wrapHits atomic.Int64

//go:noinline
func csGoArg(n int64) { wrapHits.Add(n) }

//go:noinline
func csDeferArg(n int64) { wrapHits.Add(n) }

//go:noinline
func csGoNoArg() { wrapHits.Add(1) }

//go:noinline
func csDeferNoArg() { wrapHits.Add(1000) }

//go:noinline
func startGoArg() {
	go csGoArg(1) // marker: go csGoArg
}

//go:noinline
func startGoNoArg() { go csGoNoArg() }

//go:noinline
func runDeferArg() {
	defer csDeferArg(10) // marker: defer csDeferArg
}

//go:noinline
func runDeferNoArg(panics bool) {
	defer csDeferNoArg()
	if panics {
		panic("runDeferNoArg")
	}
}

// markerLine returns the line of this file that holds "marker: what".
func markerLine(t *testing.T, what string) int {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	src, err := os.ReadFile(file)
	if err != nil {
		t.Skipf("reading the test's source: %v", err)
	}
	for i, line := range strings.Split(string(src), "\n") {
		if strings.HasSuffix(line, "// marker: "+what) {
			return i + 1
		}
	}
	t.Fatalf("no marker %q", what)
	return 0
}

// waitHits waits up to d for wrapHits to reach want.
func waitHits(want int64, d time.Duration) int64 {
	for deadline := time.Now().Add(d); wrapHits.Load() < want && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	return wrapHits.Load()
}

// TestCallSitesGoDeferWithArguments: go f(x) and defer f(x) call f from a
// wrapper the compiler generates; that call is the site, named after the
// go or defer statement's line.
func TestCallSitesGoDeferWithArguments(t *testing.T) {
	for _, c := range []struct {
		kind, marker string
		fn           func(int64)
		run          func()
		weight       int64
	}{
		{"cs_go", "go csGoArg", csGoArg, startGoArg, 1},
		{"cs_defer", "defer csDeferArg", csDeferArg, runDeferArg, 10},
	} {
		// Registered once, even with -count.
		if n, err := dflag.OptCalls(c.kind, "x", c.fn); n != 1 || err != nil {
			if err == nil || !strings.Contains(err.Error(), "already registered") {
				t.Fatalf("%s: OptCalls = %d, %v", c.kind, n, err)
			}
		}
		states := csList(t, c.kind+":")
		if len(states) != 1 || states[0].Line != markerLine(t, c.marker) || states[0].File != "bounded.dev/dflag/callsite_test.go" {
			t.Fatalf("%s: records %+v, want one at callsite_test.go:%d", c.kind, states, markerLine(t, c.marker))
		}
		// Registered after Init: off. The wrapper runs, the call does not.
		before := wrapHits.Load()
		c.run()
		if got := waitHits(before+c.weight, 50*time.Millisecond); got != before {
			t.Errorf("%s: the switched-off call ran", c.kind)
		}
		dflag.ActivateKind(c.kind, "")
		c.run()
		if got := waitHits(before+c.weight, 5*time.Second); got != before+c.weight {
			t.Errorf("%s: the switched-on call did not run (%d)", c.kind, got-before)
		}
		dflag.DeactivateKind(c.kind, "")
	}
}

// TestCallSitesGoWithoutArguments: go f() starts the goroutine at f
// through its function value, with no call instruction: registration
// fails and says so.
func TestCallSitesGoWithoutArguments(t *testing.T) {
	before := wrapHits.Load()
	startGoNoArg()
	n, err := dflag.OptCalls("cs_go0", "x", csGoNoArg)
	if n != 0 || err == nil || !strings.Contains(err.Error(), "go csGoNoArg() or defer csGoNoArg() without arguments") {
		t.Errorf("OptCalls = %d, %v; want the go-statement hint", n, err)
	}
	// The goroutine keeps calling; wait for it, so that its hit does not
	// land in another test's count.
	startGoNoArg()
	if got := waitHits(before+2, 5*time.Second); got != before+2 {
		t.Errorf("go csGoNoArg() ran %d times, want 2", got-before)
	}
}

// TestCallSitesDeferWithoutArguments pins what an open-coded defer f()
// does: the call at the function's exit is a site, switched like any
// other, but when the function panics the runtime calls f through its
// function value, which no patch reaches: the call runs even when off.
//
// Where the compiler does not open-code the defer (-race builds, a defer in
// a loop, more than 8 defers), defer f() is like go f(): no site, and the
// registration fails with the hint.
func TestCallSitesDeferWithoutArguments(t *testing.T) {
	if n, err := dflag.OptCalls("cs_defer0", "x", csDeferNoArg); n != 1 || err != nil {
		switch {
		case err != nil && strings.Contains(err.Error(), "defer csDeferNoArg() without arguments"):
			t.Logf("not open-coded in this build: %v", err)
			before := wrapHits.Load()
			runDeferNoArg(false)
			if wrapHits.Load() != before+1000 {
				t.Error("the deferred call did not run")
			}
			return
		case err == nil || !strings.Contains(err.Error(), "already registered"):
			t.Fatalf("OptCalls = %d, %v", n, err)
		}
	}
	t.Logf("the open-coded defer's site: %v", csList(t, "cs_defer0:")[0].Name)
	before := wrapHits.Load()
	runDeferNoArg(false)
	if wrapHits.Load() != before {
		t.Error("the switched-off deferred call ran on a normal return")
	}
	func() {
		defer func() { recover() }()
		runDeferNoArg(true)
	}()
	if wrapHits.Load() != before+1000 {
		t.Errorf("on a panic the deferred call ran %d times, want 1 (the runtime calls it through its value)", (wrapHits.Load()-before)/1000)
	}
}

type csValue struct{ n int64 }

// Add is a value method: calls through a pointer or an interface reach it
// through the compiler's wrapper (*csValue).Add.
//
//go:noinline
func (v csValue) Add() { wrapHits.Add(v.n) } // marker: csValue.Add

type csAdder interface{ Add() }

var csIface csAdder = csValue{10000}

//go:noinline
func callViaIface() { csIface.Add() }

// TestCallSitesMethodWrapper: a method expression's calls through an
// interface go through the method wrapper, whose call is one site named
// after the method's declaration.
func TestCallSitesMethodWrapper(t *testing.T) {
	callViaIface()
	if n, err := dflag.DefaultCalls("cs_method", "add", csValue.Add); n != 1 || err != nil {
		if err == nil || !strings.Contains(err.Error(), "already registered") {
			t.Fatalf("DefaultCalls = %d, %v", n, err)
		}
	}
	states := csList(t, "cs_method:")
	if len(states) != 1 || states[0].Line != markerLine(t, "csValue.Add") {
		t.Fatalf("records %+v, want one at the declaration, line %d", states, markerLine(t, "csValue.Add"))
	}
	before := wrapHits.Load()
	dflag.DeactivateKind("cs_method", "")
	callViaIface()
	if wrapHits.Load() != before {
		t.Error("the interface call ran while its wrapper's site was off")
	}
	dflag.ActivateKind("cs_method", "")
	callViaIface()
	if wrapHits.Load() != before+10000 {
		t.Error("the interface call did not resume")
	}
}

//go:noinline
func unavailableTarget() {}

//go:noinline
func callUnavailable() { unavailableTarget() }

//go:noinline
func brokenTarget() {}

//go:noinline
func callBroken() { brokenTarget() }

// TestCallSitesUnavailable registers call sites in a child process whose
// seccomp filter refuses to make code writable: the first refused switch
// breaks the engine, PatchStatus says why, and a later registration fails
// and registers nothing.
func TestCallSitesUnavailable(t *testing.T) {
	if !seccomp.Child(t) {
		return
	}
	callUnavailable()
	callBroken()
	seccomp.Require(t, seccomp.Rule{Write: true})
	// Registered after Init, the Opt site is switched off at once: refused.
	n, err := dflag.OptCalls("cs_broken", "x", brokenTarget)
	if n != 1 || !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "keep calling") {
		t.Errorf("OptCalls under the filter = %d, %v; want 1 registered and EPERM", n, err)
	}
	if states, _ := dflag.List("cs_broken:"); len(states) != 1 || !states[0].On {
		t.Errorf("the refused Opt site: %+v, want On (the call runs)", states)
	}

	err = dflag.PatchStatus()
	if err == nil || !strings.Contains(err.Error(), "keep running") || !errors.Is(err, patch.ErrMprotect) || !errors.Is(err, unix.EPERM) {
		t.Errorf("PatchStatus = %v", err)
	}
	n, err = dflag.OptCalls("cs_unavailable", "x", unavailableTarget)
	if n != 0 || !errors.Is(err, unix.EPERM) {
		t.Errorf("OptCalls = %d, %v; want the reason", n, err)
	}
	if states, _ := dflag.List("cs_unavailable:"); len(states) != 0 {
		t.Errorf("records registered: %v", states)
	}
}
