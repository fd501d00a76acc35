package dflag

import (
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
)

// Event describes one completed control operation, for audit logs and
// metrics (see [Watch]).
type Event struct {
	Op        Op
	Kind      string        // set for the kind operations and HoldKind
	Pattern   string        // the pattern as given
	Matched   int           // records that matched
	Flipped   int           // records whose value changed
	Patched   int           // call sites whose code was rewritten
	PatchTime time.Duration // time spent rewriting code
}

// watchers is a copy-on-write list so that notify costs one atomic load
// when nobody watches.
var watchers struct {
	mu   sync.Mutex
	list atomic.Pointer[[]*func(Event)]
}

// Watch calls fn after every control operation, outside the registry lock,
// from the goroutine that made the change. fn must be fast and must not
// block; it may call into dflag. The returned stop removes fn.
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

func notify(ev Event) {
	list := watchers.list.Load()
	if list == nil {
		return
	}
	for _, fn := range *list {
		(*fn)(ev)
	}
}
