package phase

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"bounded.dev/aspect"
	"bounded.dev/dflag"
)

// The phases of the common case. They are values, not names, so a typo
// (phase.STN) is a compile error; declare a program's own phases the same
// way, once, as package-level variables:
//
//	var batch = phase.Of("batch")
var (
	// SteadyState is entered once, after single-threaded start-up and
	// before worker goroutines start: its advice is what concurrency needs
	// (locks, for instance) and start-up may skip. Its kind is
	// steady_state.
	SteadyState = Of("steady_state")

	// STM is entered around batch updates applied in place: its advice is
	// the read barrier that readers need only while a batch may be half
	// applied. Its kind is stm.
	STM = Of("stm")
)

// Phase is a program phase: the advice of one kind, switched on while a
// window of the phase is open. There is one Phase per name; [Of] returns it,
// and a program keeps it in a package-level variable ([SteadyState], [STM],
// or its own), through which the phase's advice is declared
// (p.Kind().Opt) and its windows opened ([Phase.Enter], [Phase.Do]).
type Phase struct {
	name string
	kind *aspect.Kind
	hold *dflag.KindHold // the kind-wide hold, owned by "phase:<name>", taken while open > 0

	mu     sync.Mutex
	open   int           // windows open
	gen    uint64        // increments when the advice is switched on
	synced atomic.Uint64 // the latest gen whose grace period has completed
}

// phases maps a name to its one Phase; the two of the common case are
// created when the package is initialised, before any package that
// imports it.
var phases sync.Map // name -> *Phase

// Of returns the phase named name, creating it the first time: the kind
// name of its advice. Call it once per phase, in a package-level variable
// (var batch = phase.Of("batch")), and use the variable. Like
// [regexp.MustCompile], it panics if name is not an identifier: phase names
// are constants. [dflag.CheckKind] checks one that is not.
func Of(name string) *Phase {
	if p, ok := phases.Load(name); ok {
		return p.(*Phase)
	}
	if err := dflag.CheckKind(name); err != nil {
		panic(fmt.Sprintf("phase: Of(%q): %s", name, strings.TrimPrefix(err.Error(), "dflag: ")))
	}
	hold, err := dflag.NewKindHold(name, "phase:"+name)
	if err != nil {
		panic(fmt.Sprintf("phase: Of(%q): %s", name, strings.TrimPrefix(err.Error(), "dflag: ")))
	}
	p, _ := phases.LoadOrStore(name, &Phase{name: name, kind: aspect.New(name, aspect.WithLinger(0)), hold: hold})
	return p.(*Phase)
}

// Name returns the phase's name, the dflag kind of its advice.
func (p *Phase) Name() string { return p.name }

// Kind returns the aspect kind of the phase, to declare its advice with:
//
//	var barrier *dflag.Flag = phase.STM.Kind().Opt("table_barrier")
//
// The kind is created without linger. A kind of the same name that
// [aspect.New] created before the phase (from a package initialised
// earlier) keeps its own linger, which only matters to activations made
// through the kind: windows switch the advice off as soon as the last one
// exits.
func (p *Phase) Kind() *aspect.Kind { return p.kind }

// Open reports whether a window of the phase is open.
func (p *Phase) Open() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open > 0
}

// Enter switches on the phase's advice (every flag and call site of the
// phase's kind, including ones registered later), waits for a grace period
// (see the package documentation), and returns the open window. Windows
// nest: the advice stays on until every window of the phase has exited.
// Enter must not be called by a goroutine whose own [Reader] is online.
func (p *Phase) Enter() *Window {
	p.enter()
	return &Window{p: p}
}

// Do runs fn inside a window of the phase: it enters, calls fn, and exits
// when fn returns or panics. Unlike Enter it does not allocate.
func (p *Phase) Do(fn func()) {
	p.enter()
	defer p.exit()
	fn()
}

// enter opens a window. The first window takes a kind-wide dflag hold,
// which also switches on flags registered while it is held; nested windows
// count. The grace period runs unless one has already completed since the
// advice was switched on: then no reader can still be in a read section
// that saw it off.
func (p *Phase) enter() {
	p.mu.Lock()
	if p.open == 0 {
		if err := p.hold.Take(); err != nil {
			// The hold is in force in dflag's counts; call sites the
			// engine could not switch keep running or not as their
			// State.On says, and later control calls retry them.
			slog.Error("phase: entering a window", "phase", p.name, "err", err)
		}
		p.gen++
	}
	p.open++
	gen := p.gen
	p.mu.Unlock()
	if p.synced.Load() == gen {
		return
	}
	Synchronize()
	// gen is still current: it changes only after every window, this one
	// included, has exited.
	p.synced.Store(gen)
}

// exit closes a window; the last one drops the hold.
func (p *Phase) exit() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open--; p.open == 0 {
		if err := p.hold.Drop(); err != nil {
			slog.Error("phase: exiting a window", "phase", p.name, "err", err)
		}
	}
}

// Window is an open window of a phase; [Window.Exit] closes it.
type Window struct {
	p    *Phase
	done atomic.Bool
}

// Enter enters the phase name: Of(name).Enter(). It panics like [Of] on an
// invalid name.
//
// Deprecated: a misspelt name here silently opens a window of a new, empty
// phase. Declare the phase once (var batch = phase.Of("batch"), or use
// [SteadyState] and [STM]) and call its [Phase.Enter] or [Phase.Do].
func Enter(name string) *Window { return Of(name).Enter() }

// Exit closes the window. It is idempotent: only the first call closes it.
func (w *Window) Exit() {
	if w.done.CompareAndSwap(false, true) {
		w.p.exit()
	}
}

// Name returns the phase's name.
func (w *Window) Name() string { return w.p.name }

// Phase returns the window's phase.
func (w *Window) Phase() *Phase { return w.p }

// Kind returns the aspect kind of the phase name, Of(name).Kind(). It
// panics like [Of] on an invalid name.
//
// Deprecated: a misspelt name here silently declares advice of a new,
// empty phase. Use the phase's value: phase.STM.Kind().Opt("table_barrier").
func Kind(name string) *aspect.Kind { return Of(name).Kind() }
