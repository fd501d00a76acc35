package dflag

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Op is a control operation.
type Op string

// The control operations, as they appear in [Event] and in startup terms.
const (
	OpInit       Op = "init"
	OpActivate   Op = "activate"
	OpDeactivate Op = "deactivate"
	OpUnhook     Op = "unhook"
	OpRehook     Op = "rehook"
	OpRegister   Op = "register" // call sites registered: Pattern holds their name
	OpHold       Op = "hold"     // a Hold's terms replaced: Owner names it, Pattern holds the terms
	OpRelease    Op = "release"  // a Hold released
	OpReset      Op = "reset"    // counts reset by ResetCounts (tests)
)

// Event describes one completed control operation, for audit logs and
// metrics (see [Watch]).
type Event struct {
	Op        Op
	Kind      string        // set for the kind operations and HoldKind
	Owner     string        // the Hold's owner, for OpHold and OpRelease
	Pattern   string        // the pattern as given
	Matched   int           // records that matched
	Flipped   int           // records whose value changed (not counting call sites the engine could not switch)
	Patched   int           // call sites whose code was rewritten
	PatchTime time.Duration // time spent rewriting code
	Err       error         // a *SwitchError when call sites could not be switched, else nil
}

// watchers is a copy-on-write list so that notify costs one atomic load
// when nobody watches.
var watchers struct {
	mu   sync.Mutex
	list atomic.Pointer[[]*func(Event)]
}

// Watch calls fn after every control operation, outside the registry lock,
// from the goroutine that made the change (for the events of [Init], once
// Init is complete). fn must be fast and must not block; it may call into
// dflag. If fn panics, the panic is recovered and logged with [slog.Error]:
// the operation it was told about has completed, its caller gets its
// result (a [HoldKind] its release), and the other watchers are called. The
// returned stop removes fn.
func Watch(fn func(Event)) (stop func()) {
	p := &fn
	watchers.mu.Lock()
	defer watchers.mu.Unlock()
	var list []*func(Event)
	if old := watchers.list.Load(); old != nil {
		list = append(list, *old...)
	}
	list = append(list, p)
	watchers.list.Store(&list)
	return func() {
		watchers.mu.Lock()
		defer watchers.mu.Unlock()
		old := watchers.list.Load()
		var list []*func(Event)
		for _, q := range *old {
			if q != p {
				list = append(list, q)
			}
		}
		watchers.list.Store(&list)
	}
}

// notify calls every watcher with ev. A watcher that panics is contained:
// the panic is logged with [slog.Error] (with the event and the stack) and
// the other watchers are still called. The change itself is complete when
// notify runs, so the registry is consistent whatever a watcher does.
func notify(evs ...Event) {
	list := watchers.list.Load()
	if list == nil {
		return
	}
	for _, ev := range evs {
		for _, fn := range *list {
			call(*fn, ev)
		}
	}
}

func call(fn func(Event), ev Event) {
	defer func() {
		if r := recover(); r != nil {
			slog.Error("dflag: a Watch callback panicked; the change it was told about is complete and the registry is consistent",
				"op", string(ev.Op), "kind", ev.Kind, "pattern", ev.Pattern, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	fn(ev)
}
