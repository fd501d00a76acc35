package phase_test

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"bounded.dev/aspect"
	"bounded.dev/dflag"
	"bounded.dev/phase"
)

func TestMain(m *testing.M) {
	os.Unsetenv("DFLAG")
	os.Unsetenv("DFLAG_FILE")
	if err := dflag.Init(); err != nil {
		fmt.Fprintln(os.Stderr, "Init:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

var (
	windowFlag = aspect.New("phase_window").Opt("advice")
	stmFlag    = phase.STM.Kind().Opt("phase_test_barrier")

	guaranteePhase = phase.Of("phase_guarantee")
	guaranteeFlag  = guaranteePhase.Kind().Opt("advice")
)

// The tests' phases, declared once as programs declare theirs.
var (
	windowPhase      = phase.Of("phase_window")
	waitPhase        = phase.Of("phase_wait")
	offlinePhase     = phase.Of("phase_offline")
	offlineWakePhase = phase.Of("phase_offline_wake")
	busyPhase        = phase.Of("phase_busy")
	ofPhase          = phase.Of("phase_of")
	latePhase        = phase.Of("phase_late")
	nestedPhase      = phase.Of("phase_nested")
)

func TestWindowsNestAndExitIsIdempotent(t *testing.T) {
	if windowFlag.On() {
		t.Fatal("advice on before Enter")
	}
	w1 := windowPhase.Enter()
	w2 := windowPhase.Enter()
	if !windowFlag.On() || w1.Name() != "phase_window" {
		t.Fatal("advice off in a window")
	}
	w1.Exit()
	w1.Exit() // idempotent: must not close w2
	if !windowFlag.On() {
		t.Fatal("advice off while the inner window is open")
	}
	w2.Exit()
	// aspect.New("phase_window") above has the default linger; flush it.
	aspect.New("phase_window").Flush()
	if windowFlag.On() {
		t.Fatal("advice on after every window exited")
	}
	w := phase.STM.Enter()
	if !stmFlag.On() {
		t.Fatal("stm advice off in an stm window")
	}
	w.Exit()
	if stmFlag.On() {
		t.Fatal("stm advice on after Exit (the phase kind lingers?)")
	}
}

// TestDeprecatedNameFunctions: the string-taking Enter and Kind keep
// working (the same phase as its value) and panic on an invalid name.
func TestDeprecatedNameFunctions(t *testing.T) {
	w := phase.Enter("phase_window") //nolint:staticcheck // the deprecated spelling is what this tests
	if w.Phase() != windowPhase || !windowFlag.On() {
		t.Fatal("phase.Enter(name) did not open a window of the named phase")
	}
	w.Exit()
	if phase.Kind("stm") != phase.STM.Kind() || phase.STM.Name() != "stm" || phase.SteadyState.Name() != "steady_state" {
		t.Fatal("phase.Kind(name) and the common phases disagree")
	}
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "phase: ") {
			t.Fatalf("Enter(invalid) panicked with %v, want a phase: error", r)
		}
	}()
	phase.Enter("not a phase")
}

func TestReaderIsPadded(t *testing.T) {
	if s := unsafe.Sizeof(phase.Reader{}); s != 128 {
		t.Fatalf("Reader is %d bytes, want 128", s)
	}
}

// enterAsync runs p.Enter in a goroutine and returns a channel that
// receives the window when Enter returns.
func enterAsync(p *phase.Phase) <-chan *phase.Window { return asyncWindow(p.Enter) }

// mustReturn waits for Enter to return, failing after a generous deadline.
func mustReturn(t *testing.T, ch <-chan *phase.Window) *phase.Window {
	t.Helper()
	select {
	case w := <-ch:
		return w
	case <-time.After(20 * time.Second):
		t.Fatal("Enter did not return")
		return nil
	}
}

func TestEnterWaitsForAnOnlineReader(t *testing.T) {
	r := phase.Register()
	defer r.Close()
	// r is online and in a read section: it has not announced a quiescent
	// state since Enter switched the advice on.
	ch := enterAsync(waitPhase)
	select {
	case <-ch:
		t.Fatal("Enter returned while a reader was still in a read section")
	case <-time.After(30 * time.Millisecond):
	}
	r.Quiescent()
	mustReturn(t, ch).Exit()

	// Online after Offline is a read section too.
	r.Offline()
	r.Online()
	ch = enterAsync(waitPhase)
	select {
	case <-ch:
		t.Fatal("Enter returned while a reader that came online was in a read section")
	case <-time.After(30 * time.Millisecond):
	}
	r.Quiescent()
	mustReturn(t, ch).Exit()
}

func TestOfflineAndClosedReadersDoNotDelayEnter(t *testing.T) {
	off := phase.Register()
	defer off.Close()
	off.Offline()
	closed := phase.Register()
	closed.Close()
	closed.Close() // idempotent
	mustReturn(t, enterAsync(offlinePhase)).Exit()
	closed.Online() // a closed reader stays out of the way
	mustReturn(t, enterAsync(offlinePhase)).Exit()
}

// TestNoReaderSkipsAdviceInsideAWindow is the guarantee itself: a reader's
// read section that saw the advice off never overlaps the part of a window
// after Enter returned.
func TestNoReaderSkipsAdviceInsideAWindow(t *testing.T) {
	f := guaranteeFlag
	var established atomic.Bool // the writer is past Enter
	var stop atomic.Bool
	var violations, sections atomic.Int64
	var wg sync.WaitGroup
	for range 3 {
		r := phase.Register()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for i := 0; !stop.Load(); i++ {
				on := f.On() // the read section starts
				if !on && established.Load() {
					violations.Add(1)
				}
				sections.Add(1)
				r.Quiescent() // and ends
				if i%1000 == 0 {
					r.Offline()
					time.Sleep(10 * time.Microsecond)
					r.Online()
				}
			}
		}()
	}
	windows := 1000
	if testing.Short() {
		windows = 200
	}
	for range windows {
		w := guaranteePhase.Enter()
		established.Store(true)
		for range 10 {
			if !f.On() {
				t.Error("advice off inside the window")
			}
		}
		established.Store(false)
		w.Exit()
	}
	stop.Store(true)
	wg.Wait()
	if n := violations.Load(); n != 0 {
		t.Fatalf("%d read sections saw the advice off inside a window (of %d)", n, sections.Load())
	}
	t.Logf("%d windows, %d read sections", windows, sections.Load())
}

func TestEnterWithTwoBusyReadersIsFast(t *testing.T) {
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 {
		r := phase.Register()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for !stop.Load() {
				r.Quiescent()
			}
		}()
	}
	var worst time.Duration
	start := time.Now()
	const n = 200
	for range n {
		t0 := time.Now()
		busyPhase.Enter().Exit()
		worst = max(worst, time.Since(t0))
	}
	mean := time.Since(start) / n
	stop.Store(true)
	wg.Wait()
	t.Logf("Enter+Exit with two busy readers: mean %v, worst %v", mean, worst)
	// Only a gross bound: this is not a benchmark, and -race is slow.
	if worst > 2*time.Second {
		t.Fatalf("Enter took %v with two busy readers", worst)
	}
}

func TestSynchronizeWithoutReaders(t *testing.T) {
	phase.Synchronize() // must not block
}

// TestOfflineWakesAWaitingEnter: a reader that goes offline while Enter
// waits for it releases Enter.
func TestOfflineWakesAWaitingEnter(t *testing.T) {
	r := phase.Register()
	defer r.Close()
	ch := enterAsync(offlineWakePhase)
	select {
	case <-ch:
		t.Fatal("Enter returned while a reader was still in a read section")
	case <-time.After(20 * time.Millisecond):
	}
	r.Offline()
	mustReturn(t, ch).Exit()
	r.Online()
	ch = enterAsync(offlineWakePhase)
	time.Sleep(5 * time.Millisecond)
	r.Close() // closing releases it too
	mustReturn(t, ch).Exit()
}

func TestOfReturnsOnePhasePerName(t *testing.T) {
	p := ofPhase
	if phase.Of("phase_of") != p || p.Name() != "phase_of" || p.Kind() != aspect.New("phase_of") {
		t.Fatal("Of does not return one phase per name")
	}
	if p.Kind().Linger() != 0 {
		t.Fatalf("phase kind lingers %v", p.Kind().Linger())
	}
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "phase: ") {
			t.Fatalf("Of(invalid) panicked with %v, want a phase: error", r)
		}
	}()
	phase.Of(invalidName) // built at run time: a constant is a lint finding
}

// invalidName is a phase name with a trailing space (a typo dflaglint
// reports when it is a constant).
var invalidName = strings.TrimSuffix("stn +", "+")

var (
	doPhase = phase.Of("phase_do")
	doFlag  = doPhase.Kind().Opt("advice")
)

// TestDoOpensAWindowAndClosesItOnPanic: Do runs fn with the advice on and
// the phase open, and closes the window even if fn panics.
func TestDoOpensAWindowAndClosesItOnPanic(t *testing.T) {
	var on, open bool
	doPhase.Do(func() { on, open = doFlag.On(), doPhase.Open() })
	if !on || !open {
		t.Fatalf("inside Do: advice on %v, phase open %v", on, open)
	}
	if doFlag.On() || doPhase.Open() {
		t.Fatal("advice on or phase open after Do")
	}
	func() {
		defer func() { recover() }()
		doPhase.Do(func() { panic("boom") })
	}()
	if doFlag.On() || doPhase.Open() {
		t.Fatal("a panicking Do left the window open")
	}
}

// TestFlagRegisteredInAWindowIsOn: a flag of the phase's kind declared
// while a window is open is on at once, and off after the window.
func TestFlagRegisteredInAWindowIsOn(t *testing.T) {
	p := latePhase
	w := p.Enter()
	//dflaglint:ignore declaring a flag while a window is open is what this tests
	late := p.Kind().Opt("late")
	if !late.On() {
		w.Exit()
		t.Fatal("a flag registered inside a window is off in it")
	}
	w.Exit()
	if late.On() {
		t.Fatal("the late flag is on after the window")
	}
}

// TestNestedEnterSkipsTheGracePeriod: once a window's grace period has
// completed, a nested Enter does not wait for readers (the advice has been
// on since), but an Enter after every window exited does.
func TestNestedEnterSkipsTheGracePeriod(t *testing.T) {
	p := nestedPhase
	outer := p.Enter()
	r := phase.Register() // online, never quiescent: a grace period would wait
	defer r.Close()
	mustReturn(t, asyncWindow(p.Enter)).Exit()
	outer.Exit()
	ch := asyncWindow(p.Enter)
	select {
	case <-ch:
		t.Fatal("Enter after every window exited skipped the grace period")
	case <-time.After(30 * time.Millisecond):
	}
	r.Quiescent()
	mustReturn(t, ch).Exit()
}

// asyncWindow runs enter in a goroutine and returns a channel that
// receives the window.
func asyncWindow(enter func() *phase.Window) <-chan *phase.Window {
	ch := make(chan *phase.Window, 1)
	go func() { ch <- enter() }()
	return ch
}

// TestWindowIsANamedOwner: while a window is open, the phase's advice
// lists the owner phase:<name> (not an anonymous kind:<name>); an
// activation of the phase's aspect kind is listed as kind:<name> beside
// it; after the window, neither is.
func TestWindowIsANamedOwner(t *testing.T) {
	owners := func() (names []string) {
		for _, o := range ownerFlag.State().Owners {
			names = append(names, o.Name)
		}
		return names
	}
	ownerPhase.Do(func() {
		if got := owners(); len(got) != 1 || got[0] != "phase:phase_owner" {
			t.Errorf("owners in a window: %q", got)
		}
		ownerPhase.Kind().Do(func() {
			if got := owners(); len(got) != 2 || got[0] != "kind:phase_owner" || got[1] != "phase:phase_owner" {
				t.Errorf("owners in a window and an activation: %q", got)
			}
		})
	})
	if got := owners(); len(got) != 0 || ownerFlag.On() {
		t.Errorf("after the window: owners %q, advice on %v", got, ownerFlag.On())
	}
}

var (
	ownerPhase = phase.Of("phase_owner")
	ownerFlag  = ownerPhase.Kind().Opt("advice")
)
