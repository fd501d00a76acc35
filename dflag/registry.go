package dflag

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"
)

// reg is the process-wide flag registry.
var reg struct {
	mu          sync.Mutex
	all         []*Flag            // in registration order
	byKind      map[string][]*Flag // index for the kind operations
	sorted      []*Flag            // by full name, then seq: a pattern's literal prefix is a run
	holds       map[string]uint64  // kind-wide activations that also apply to later flags
	initialized bool
	initDone    chan struct{} // closed when the first Init has finished
	initErr     error
}

// want is the value the flag should have; reg.mu must be held.
func (f *Flag) want() bool {
	return f.activation > 0 || f.mode == OptMode && !reg.initialized
}

// register publishes a new record; it takes its initial state at once,
// including any kind-wide holds.
func register(f *Flag) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	registerLocked(f)
}

func registerLocked(f *Flag) {
	f.seq = len(reg.all)
	f.activation += reg.holds[f.kind]
	reg.all = append(reg.all, f)
	if reg.byKind == nil {
		reg.byKind = make(map[string][]*Flag)
	}
	reg.byKind[f.kind] = append(reg.byKind[f.kind], f)
	i, _ := slices.BinarySearchFunc(reg.sorted, f, func(a, b *Flag) int {
		return cmp.Or(strings.Compare(a.full, b.full), cmp.Compare(a.seq, b.seq))
	})
	reg.sorted = slices.Insert(reg.sorted, i, f)
	if f.addr == 0 {
		f.on.Store(f.want())
	}
}

// Init initialises the library: [Opt] flags switch off (unless activated),
// then the terms in the file named by DFLAG_FILE and in the DFLAG
// environment variable are validated and applied, file first. Init is
// idempotent: later calls, concurrent ones included, wait for the first
// call to finish and return its result. If a term is malformed, Init
// returns an error naming it and applies no term, but the library is
// initialised all the same. Watchers see Init's events once it has
// finished.
func Init() error {
	reg.mu.Lock()
	if done := reg.initDone; done != nil {
		reg.mu.Unlock()
		<-done
		reg.mu.Lock()
		defer reg.mu.Unlock()
		return reg.initErr
	}
	reg.initDone = make(chan struct{})
	reg.initialized = true
	ev := Event{Op: OpInit, Pattern: ""}
	ev.Matched = len(reg.all)
	ev.Flipped, ev.Patched, ev.PatchTime, _ = syncLocked(reg.all)
	evs := []Event{ev}
	reg.mu.Unlock()

	terms, err := envTerms()
	var parsed []term
	if err == nil {
		parsed, err = parseTerms(terms)
	}
	reg.mu.Lock()
	if err == nil {
		evs = applyLocked(parsed, evs)
	}
	reg.initErr = err
	close(reg.initDone)
	reg.mu.Unlock()
	notify(evs...)
	return err
}

// Initialized reports whether [Init] has run.
func Initialized() bool {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return reg.initialized
}

// syncLocked brings each record's value in line with its counts and returns
// how many records changed value and how many call sites were patched.
func syncLocked(fs []*Flag) (flipped, patched int, took time.Duration, err error) {
	var sites []*Flag
	for _, f := range fs {
		if f.syncHook(&sites) {
			flipped++
		}
	}
	patched, took, err = patch(sites)
	return flipped, patched, took, err
}

// syncHook updates a hook flag's value from its counts, or appends a call
// site whose value must change to sites. It reports whether the value
// changes.
func (f *Flag) syncHook(sites *[]*Flag) bool {
	w := f.want()
	if w == f.on.Load() {
		return false
	}
	if f.addr != 0 {
		*sites = append(*sites, f)
	} else {
		f.on.Store(w)
	}
	return true
}

// Activate increments the activation count of every flag whose full name
// matches pattern, except unhooked flags, and returns how many matched.
func Activate(pattern string) (int, error) { return control(OpActivate, "", pattern) }

// Deactivate decrements the activation count of every flag whose full name
// matches pattern (counts stay at zero) and returns how many matched.
func Deactivate(pattern string) (int, error) { return control(OpDeactivate, "", pattern) }

// Unhook increments the unhook count of every flag whose full name matches
// pattern: while it is positive, activations of the flag are ignored.
func Unhook(pattern string) (int, error) { return control(OpUnhook, "", pattern) }

// Rehook decrements the unhook count of every flag whose full name matches
// pattern (counts stay at zero) and returns how many matched.
func Rehook(pattern string) (int, error) { return control(OpRehook, "", pattern) }

// ActivateKind activates the flags of kind whose full name matches pattern;
// the empty pattern selects every flag of the kind. It touches only that
// kind's records. An invalid kind or pattern is an error.
func ActivateKind(kind, pattern string) (int, error) {
	if err := checkKind(kind); err != nil {
		return 0, err
	}
	return control(OpActivate, kind, pattern)
}

// DeactivateKind deactivates the flags of kind whose full name matches
// pattern; the empty pattern selects every flag of the kind.
func DeactivateKind(kind, pattern string) (int, error) {
	if err := checkKind(kind); err != nil {
		return 0, err
	}
	return control(OpDeactivate, kind, pattern)
}

// control applies op to the matching records. kind != "" restricts it to
// that kind, where the empty pattern matches every record.
func control(op Op, kind, pattern string) (int, error) {
	var m *matcher
	if kind == "" || pattern != "" {
		var err error
		if m, err = compile(pattern); err != nil {
			return 0, err
		}
	}
	reg.mu.Lock()
	ev := controlLocked(op, kind, pattern, m)
	reg.mu.Unlock()
	notify(ev)
	return ev.Matched, nil
}

// controlLocked is control with reg.mu held and the pattern compiled (m is
// nil when every record of kind matches).
func controlLocked(op Op, kind, pattern string, m *matcher) Event {
	fs := candidates(kind, m)
	ev := Event{Op: op, Kind: kind, Pattern: pattern}
	var sites []*Flag
	for _, f := range fs {
		if kind != "" && f.kind != kind || m != nil && !m.match(f.full) {
			continue
		}
		ev.Matched++
		if op.apply(f) && f.syncHook(&sites) {
			ev.Flipped++
		}
	}
	ev.Patched, ev.PatchTime, _ = patch(sites)
	return ev
}

// apply changes f's counts for op and reports whether f's value may change.
func (op Op) apply(f *Flag) bool {
	switch op {
	case OpActivate:
		if f.unhook > 0 {
			return false
		}
		f.activation++
		return f.activation == 1
	case OpDeactivate:
		if f.activation == 0 {
			return false
		}
		f.activation--
		return f.activation == 0
	case OpUnhook:
		f.unhook++
	case OpRehook:
		if f.unhook > 0 {
			f.unhook--
		}
	}
	return false
}

// HoldKind activates every flag of kind, including flags of that kind
// registered later (by late packages or call-site registration), until the
// returned release is called. Release is idempotent. Unhooked flags ignore
// the hold as they ignore any activation; flags registered while the kind is
// held start activated. Package aspect builds scoped activations on it.
func HoldKind(kind string) (release func(), err error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	reg.mu.Lock()
	if reg.holds == nil {
		reg.holds = make(map[string]uint64)
	}
	reg.holds[kind]++
	ev := controlLocked(OpActivate, kind, "", nil)
	reg.mu.Unlock()
	notify(ev)
	var once sync.Once
	return func() {
		once.Do(func() {
			reg.mu.Lock()
			if reg.holds[kind]--; reg.holds[kind] == 0 {
				delete(reg.holds, kind)
			}
			ev := controlLocked(OpDeactivate, kind, "", nil)
			reg.mu.Unlock()
			notify(ev)
		})
	}, nil
}
