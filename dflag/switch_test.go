//go:build linux && amd64

package dflag_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"bounded.dev/dflag"
	engine "bounded.dev/internal/patch"
	"bounded.dev/internal/patch/seccomp"
)

var switchHits atomic.Int64

//go:noinline
func switchOpt() { switchHits.Add(1) }

//go:noinline
func switchDefault() { switchHits.Add(100) }

//go:noinline
func callSwitch() { switchOpt(); switchDefault() }

// runs reports which of callSwitch's two calls run.
func runs() (opt, def bool) {
	before := switchHits.Load()
	callSwitch()
	d := switchHits.Load() - before
	return d%100 == 1, d >= 100
}

// TestSwitchFailureIsReportedAndRetried pins issue 11 item 1, the registry
// side, with the real engine in a child process where a seccomp filter
// refuses to make code writable: control calls return the engine's error
// with the matched count, Event.Flipped counts no flip that did not happen,
// State.On stays what the code does, and the next matching call retries.
func TestSwitchFailureIsReportedAndRetried(t *testing.T) {
	if err := engine.Status(); err != nil {
		t.Skipf("call sites cannot be patched here: %v", err)
	}
	if !seccomp.Child(t) {
		return
	}
	if _, err := dflag.OptCalls("switch_fault", "opt", switchOpt); err != nil {
		t.Fatal(err)
	}
	if _, err := dflag.DefaultCalls("switch_fault", "def", switchDefault); err != nil {
		t.Fatal(err)
	}
	opt, def := fstate(t, "switch_fault:opt@"), fstate(t, "switch_fault:def@")
	if o, d := runs(); o || !d || opt().On || !def().On {
		t.Fatalf("before the filter: opt runs %v (On %v), default runs %v (On %v)", o, opt().On, d, def().On)
	}
	var events []dflag.Event
	stop := dflag.Watch(func(ev dflag.Event) { events = append(events, ev) })
	defer stop()
	if err := seccomp.Install(seccomp.Rule{Write: true}); err != nil {
		t.Skipf("cannot install a seccomp filter: %v", err)
	}

	truthful := func(what string) {
		t.Helper()
		o, d := runs()
		if o != opt().On || d != def().On {
			t.Fatalf("%s: opt runs %v, State.On %v; default runs %v, State.On %v", what, o, opt().On, d, def().On)
		}
	}
	checkErr := func(what string, n, want int, err error) {
		t.Helper()
		var se *dflag.SwitchError
		if n != want || !errors.As(err, &se) || se.Failed != 1 || !errors.Is(err, engine.ErrMprotect) || strings.Count(err.Error(), "dflag:") != 1 {
			t.Fatalf("%s = %d, %v; want %d matched and a SwitchError for 1 site wrapping ErrMprotect", what, n, err, want)
		}
		ev := events[len(events)-1]
		if ev.Flipped != 0 || ev.Err == nil || ev.Matched != want {
			t.Fatalf("%s: event %+v; want Flipped 0 and Err set", what, ev)
		}
	}

	n, err := dflag.Activate("switch_fault:opt@")
	checkErr("Activate", n, 1, err)
	truthful("after a failed Activate")
	if s := opt(); s.On || s.Activation != 1 {
		t.Fatalf("after a failed Activate: %+v", s)
	}
	// The count does not move 0 -> 1 again, but the site is still out of
	// line with it: the next matching call retries (and fails again).
	n, err = dflag.Activate("switch_fault:opt@")
	checkErr("Activate again", n, 1, err)
	n, err = dflag.Deactivate("switch_fault:def@")
	checkErr("Deactivate of a Default call site", n, 1, err)
	truthful("after a failed Deactivate")
	n, err = dflag.DeactivateKind("switch_fault", "switch_fault:def@")
	checkErr("DeactivateKind", n, 1, err)
	if err := dflag.Apply("+switch_fault:opt@"); err == nil || !errors.Is(err, engine.ErrMprotect) || !strings.Contains(err.Error(), `activate "switch_fault:opt@" matched 1 records`) {
		t.Fatalf("Apply = %v; want the switch error", err)
	}
	release, err := dflag.HoldKind("switch_fault")
	if release == nil || !errors.Is(err, engine.ErrMprotect) {
		t.Fatalf("HoldKind = %v, %v; want the release and the switch error", release != nil, err)
	}
	release()
	truthful("after HoldKind")
	// A flag that needs no switch is not an error.
	dflag.Deactivate("switch_fault:opt@")
	dflag.Deactivate("switch_fault:opt@")
	dflag.Deactivate("switch_fault:opt@")
	if n, err := dflag.Activate("switch_fault:def@"); n != 1 || err != nil {
		t.Fatalf("Activate of the default site back to its code's state = %d, %v", n, err)
	}
	truthful("at the end")
}

// fstate returns a function that snapshots the one record matching pattern.
func fstate(t *testing.T, pattern string) func() dflag.State {
	t.Helper()
	return func() dflag.State {
		t.Helper()
		s, err := dflag.List(pattern)
		if err != nil || len(s) != 1 {
			t.Fatalf("List(%q) = %v, %v; want one record", pattern, s, err)
		}
		return s[0]
	}
}

//go:noinline
func initSwitchTarget() { switchHits.Add(1000) }

//go:noinline
func callInitSwitch() { initSwitchTarget() }

// TestInitReportsSwitchFailure: when Init cannot switch an Opt call site
// off, it says so, and the site's record says that its call still runs.
func TestInitReportsSwitchFailure(t *testing.T) {
	if err := engine.Status(); err != nil {
		t.Skipf("call sites cannot be patched here: %v", err)
	}
	t.Setenv("DFLAG_TEST_CHILD", "concurrent") // the child's TestMain leaves Init to the test
	if !seccomp.Child(t) {
		return
	}
	if _, err := dflag.OptCalls("switch_init", "opt", initSwitchTarget); err != nil {
		t.Fatal(err)
	}
	if err := seccomp.Install(seccomp.Rule{Write: true}); err != nil {
		t.Skipf("cannot install a seccomp filter: %v", err)
	}
	err := dflag.Init()
	var se *dflag.SwitchError
	if !errors.As(err, &se) || !errors.Is(err, engine.ErrMprotect) || !strings.Contains(err.Error(), "dflag: init") {
		t.Fatalf("Init = %v; want a SwitchError", err)
	}
	before := switchHits.Load()
	callInitSwitch()
	runs := switchHits.Load() != before
	s := fstate(t, "switch_init:opt@")()
	if !runs || !s.On {
		t.Fatalf("after the failed Init: the call runs %v, State.On %v", runs, s.On)
	}
	if again := dflag.Init(); again == nil || again.Error() != err.Error() {
		t.Fatalf("a second Init = %v; want the first's result", again)
	}
}
