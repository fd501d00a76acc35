package dflag

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// reg is the process-wide flag registry.
var reg struct {
	mu          sync.Mutex
	all         []*Flag             // in registration order
	kinds       map[string]*kindRec // index for the kind operations; keys are checked kind names, never deleted
	sorted      []*Flag             // by full name, then seq: a pattern's literal prefix is a run
	owners      map[string]*Hold    // live holds by owner
	initialized bool
	initDone    chan struct{} // closed when the first Init has finished
	initErr     error
}

// kindRec is one kind's records and its kind-wide holds. A kind's entry
// stays in reg.kinds once made, holds at zero included, so that a hold and
// its release cost one map lookup and no insertion or deletion.
type kindRec struct {
	name   string
	flags  []*Flag     // the kind's records, in registration order
	holds  uint64      // kind-wide activations that also apply to later flags
	owners []kindOwner // the named part of holds (KindHolds), by owner
}

// kindOwner counts the holds a named owner has on a kind.
type kindOwner struct {
	name string
	n    uint64
}

// kindLocked returns kind's entry, making it if need be; reg.mu must be
// held.
func kindLocked(kind string) *kindRec {
	k := reg.kinds[kind]
	if k == nil {
		if reg.kinds == nil {
			reg.kinds = make(map[string]*kindRec)
		}
		k = &kindRec{name: kind}
		reg.kinds[kind] = k
	}
	return k
}

// kindFlags returns kind's records; reg.mu must be held.
func kindFlags(kind string) []*Flag {
	if k := reg.kinds[kind]; k != nil {
		return k.flags
	}
	return nil
}

// want is the value the flag should have; reg.mu must be held. A hold's
// "-" beats everything; otherwise the activation count (or an Opt flag
// before Init) turns the flag on, and so does a hold's "+" while nobody
// unhooks the flag (see [Hold]).
func (f *Flag) want() bool {
	b := f.holdBits()
	switch {
	case b&holdOff != 0:
		return false
	case f.activation > 0, f.mode == ModeOpt && !reg.initialized:
		return true
	}
	return b&holdOn != 0 && !f.unhooked()
}

// unhooked reports whether activations of f are ignored: its unhook count
// is positive or a hold unhooks it.
func (f *Flag) unhooked() bool { return f.unhook > 0 || f.holdBits()&holdUnhook != 0 }

// register publishes a new record; it takes its initial state at once,
// including any kind-wide holds.
func register(f *Flag) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	registerLocked(f)
}

func registerLocked(f *Flag) {
	f.seq = len(reg.all)
	f.applyHoldsLocked()
	k := kindLocked(f.kind)
	if !f.unhooked() {
		f.activation += k.holds
		f.kindHeld += k.holds
	}
	reg.all = append(reg.all, f)
	k.flags = append(k.flags, f)
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
// environment variable are validated and applied, file first. A term that
// matches no registered flag (a typo such as -breakr:) is applied all the
// same, as in the C library, and logged with [slog.Warn]; with
// DFLAG_STRICT=1 in the environment, Init refuses such a term instead:
// it returns an error naming every such term and applies no term (use it
// where every flag is registered before Init, as in tests and CI). The
// terms are recorded as the flags' owners (env:DFLAG_FILE, env:DFLAG; see
// [State.Owners]), but applied to the counts with the C library's
// semantics: a later Activate undoes a startup "-". Init is
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
	ev.Flipped, ev.Patched, ev.PatchTime, ev.Err = syncLocked(reg.all)
	patchErr := ev.error()
	evs := []Event{ev}
	reg.mu.Unlock()

	terms, sources, err := envTerms()
	var parsed []term
	if err == nil {
		parsed, err = parseTerms(terms)
	}
	strict, serr := strictMode()
	if err == nil {
		err = serr
	}
	reg.mu.Lock()
	var unmatched []startupTerm
	if err == nil {
		unmatched = unmatchedLocked(parsed, terms, sources)
		if strict && len(unmatched) > 0 {
			var list []string
			for _, u := range unmatched {
				list = append(list, fmt.Sprintf("term %q (%s)", u.term, u.source))
			}
			err = fmt.Errorf("dflag: DFLAG_STRICT is set and %s matches no flag, so no term was applied: fix the term, or unset DFLAG_STRICT if it is meant for flags registered after Init", strings.Join(list, ", "))
		}
	}
	if err == nil {
		evs = applyLocked(parsed, evs)
		recordStartupLocked(parsed, terms, sources)
		err = eventsError(evs[1:])
	}
	err = errors.Join(err, patchErr)
	reg.initErr = err
	close(reg.initDone)
	reg.mu.Unlock()
	if !strict {
		for _, u := range unmatched {
			slog.Warn("dflag: a startup term matches no flag: check it for a typo (DFLAG_STRICT=1 makes this an error)", "term", u.term, "source", u.source)
		}
	}
	notify(evs...)
	return err
}

// strictMode reads DFLAG_STRICT: "1" (or another true value of
// strconv.ParseBool) makes Init refuse startup terms that match no flag.
func strictMode() (bool, error) {
	v := os.Getenv("DFLAG_STRICT")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("dflag: DFLAG_STRICT=%q: want 1 (refuse startup terms that match no flag) or 0", v)
	}
	return b, nil
}

// unmatchedLocked returns the startup terms that match no registered
// flag; reg.mu must be held.
func unmatchedLocked(parsed []term, terms, sources []string) []startupTerm {
	var out []startupTerm
	for i, t := range parsed {
		if countLocked("", t.m) == 0 {
			out = append(out, startupTerm{sources[i], terms[i]})
		}
	}
	return out
}

// countLocked returns how many records of kind m matches; reg.mu must be
// held.
func countLocked(kind string, m *matcher) int {
	n := 0
	var buf [maxAlts][]*Flag
	for _, run := range candidates(kind, m, &buf) {
		for _, f := range run {
			if (kind == "" || f.kind == kind) && (m == nil || m.match(f.full)) {
				n++
			}
		}
	}
	return n
}

// Initialized reports whether [Init] has run.
func Initialized() bool {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return reg.initialized
}

// syncLocked brings each record's value in line with its counts and returns
// how many records changed value (call sites the engine could not switch
// are not counted), how many call sites were patched, and the engine's
// error, if any.
func syncLocked(fs []*Flag) (flipped, patched int, took time.Duration, err error) {
	var sites []*Flag
	for _, f := range fs {
		if f.syncHook(&sites) {
			flipped++
		}
	}
	n, patched, took, err := patchSites(sites)
	return flipped + n, patched, took, err
}

// syncHook updates a hook flag's value from its counts and reports whether
// it changed, or appends a call site whose value must change to sites (its
// flip is counted once the engine has made it).
func (f *Flag) syncHook(sites *[]*Flag) bool {
	w := f.want()
	if w == f.on.Load() {
		return false
	}
	if f.addr != 0 {
		*sites = append(*sites, f)
		return false
	}
	f.on.Store(w)
	return true
}

// patchSites switches sites through the engine and returns how many now
// hold their wanted value. A site the engine could not switch keeps what
// its code does in f.on, so that State.On stays true to the code, and
// stays out of line with its counts: every later operation that matches
// it (or any sync) tries again. The error counts the sites left behind and
// wraps the engine's.
func patchSites(sites []*Flag) (flipped, patched int, took time.Duration, err error) {
	if len(sites) == 0 {
		return 0, 0, 0, nil
	}
	patched, took, err = patch(sites)
	for _, f := range sites {
		if f.on.Load() == f.want() {
			flipped++
		}
	}
	if failed := len(sites) - flipped; failed > 0 {
		if err == nil {
			err = errors.New("the engine reported no error")
		}
		err = &SwitchError{Failed: failed, Err: err}
	} else if err != nil {
		err = &SwitchError{Err: err}
	}
	return flipped, patched, took, err
}

// SwitchError reports call sites that the engine could not switch. Each
// keeps the instruction it had, so its call runs exactly when its
// [State.On] (and [Flag.On]) says so; its counts are updated all the same,
// and the next control call that matches it, or the next [Init], tries to
// switch it again. Control calls return it wrapped, with the number of
// records matched, and [Event.Err] holds it.
type SwitchError struct {
	Failed int   // call sites left with their previous instruction
	Err    error // the engine's error (see PatchStatus)
}

func (e *SwitchError) Error() string {
	return fmt.Sprintf("%d call sites could not be switched and keep their previous instruction (State.On says what each does; the next control call that matches them retries): %v", e.Failed, e.Err)
}

// Unwrap returns the engine's error.
func (e *SwitchError) Unwrap() error { return e.Err }

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
	return controlKind(OpActivate, kind, pattern)
}

// DeactivateKind deactivates the flags of kind whose full name matches
// pattern; the empty pattern selects every flag of the kind.
func DeactivateKind(kind, pattern string) (int, error) {
	return controlKind(OpDeactivate, kind, pattern)
}

// controlKind is a kind operation. With the empty pattern and a kind that
// has records (whose name was checked when the first was registered), it
// is one map lookup and a walk over the kind's records.
func controlKind(op Op, kind, pattern string) (int, error) {
	if pattern == "" {
		reg.mu.Lock()
		if k := reg.kinds[kind]; k != nil {
			ev := controlKindLocked(op, kind, k)
			reg.mu.Unlock()
			notify(ev)
			return ev.Matched, ev.error()
		}
		reg.mu.Unlock()
	}
	if err := checkKind(kind); err != nil {
		return 0, fmt.Errorf("dflag: %w", err)
	}
	return control(op, kind, pattern)
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
	return ev.Matched, ev.error()
}

// error returns the control call's error for ev's Err, prefixed once.
func (ev *Event) error() error {
	if ev.Err == nil {
		return nil
	}
	what := string(ev.Op) + " " + strconv.Quote(ev.Pattern)
	if ev.Kind != "" {
		what = string(ev.Op) + " kind " + ev.Kind + " " + strconv.Quote(ev.Pattern)
	}
	return fmt.Errorf("dflag: %s matched %d records: %w", what, ev.Matched, ev.Err)
}

// controlLocked is control with reg.mu held and the pattern compiled (m is
// nil when every record of kind matches). Every matched record is brought
// in line with its counts, so a call site that an earlier operation could
// not switch is retried.
func controlLocked(op Op, kind, pattern string, m *matcher) Event {
	if kind != "" && m == nil {
		return controlKindLocked(op, kind, reg.kinds[kind])
	}
	ev := Event{Op: op, Kind: kind, Pattern: pattern}
	var sites []*Flag
	var buf [maxAlts][]*Flag
	for _, run := range candidates(kind, m, &buf) {
		for _, f := range run {
			if kind != "" && f.kind != kind || m != nil && !m.match(f.full) {
				continue
			}
			ev.Matched++
			op.apply(f)
			if f.syncHook(&sites) {
				ev.Flipped++
			}
		}
	}
	n, patched, took, err := patchSites(sites)
	ev.Flipped += n
	ev.Patched, ev.PatchTime, ev.Err = patched, took, err
	return ev
}

// controlKindLocked is controlLocked for every record of kind (the kind
// operations with the empty pattern): the kind's records, without the
// pattern machinery.
// k is the kind's entry, or nil if it has none.
func controlKindLocked(op Op, kind string, k *kindRec) Event {
	ev := Event{Op: op, Kind: kind}
	if k == nil {
		return ev
	}
	var sites []*Flag
	for _, f := range k.flags {
		ev.Matched++
		op.apply(f)
		if f.syncHook(&sites) {
			ev.Flipped++
		}
	}
	if len(sites) > 0 {
		n, patched, took, err := patchSites(sites)
		ev.Flipped += n
		ev.Patched, ev.PatchTime, ev.Err = patched, took, err
	}
	return ev
}

// apply changes f's counts for op.
func (op Op) apply(f *Flag) {
	switch op {
	case OpActivate:
		if !f.unhooked() {
			f.activation++
		}
	case OpDeactivate:
		if f.activation > 0 {
			f.activation--
		}
	case OpUnhook:
		f.unhook++
	case OpRehook:
		if f.unhook > 0 {
			f.unhook--
		}
	}
}

// HoldKind activates every flag of kind, including flags of that kind
// registered later (by late packages or call-site registration), until the
// returned release is called. Release is idempotent, and takes back exactly
// the activations the hold added (a flag that was unhooked when the hold
// was taken, and so ignored it, is not deactivated by the release).
// Unhooked flags ignore the hold as they ignore any activation; flags
// registered while the kind is held start activated; [State.Owners] lists
// the hold as "kind:<kind>". A [KindHold] is the same hold for an owner
// that takes and drops it repeatedly, without allocating (package aspect's
// activations and package phase's windows).
//
// If call sites of the kind could not be switched, HoldKind returns the
// release together with a *[SwitchError]: the hold is in force in the
// counts, and those sites are retried by later control calls. An error
// from the release's own switching is logged with [slog.Error] and is in
// the [Event] watchers see.
func HoldKind(kind string) (release func(), err error) {
	reg.mu.Lock()
	k := reg.kinds[kind]
	if k == nil { // a kind with no entry yet: check its name
		reg.mu.Unlock()
		if err := checkKind(kind); err != nil {
			return nil, fmt.Errorf("dflag: HoldKind: %w", err)
		}
		reg.mu.Lock()
		k = kindLocked(kind)
	}
	k.holds++
	ev := kindHoldLocked(kind, k, +1)
	reg.mu.Unlock()
	notify(ev)
	// The release is one closure and one word-sized flag (the tiny
	// allocator's), the least an idempotent func can cost.
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			k.release()
		}
	}, ev.error()
}

// release takes back one kind-wide hold.
func (k *kindRec) release() {
	reg.mu.Lock()
	k.holds--
	ev := kindHoldLocked(k.name, k, -1)
	reg.mu.Unlock()
	notify(ev)
	if err := ev.error(); err != nil {
		slog.Error("dflag: releasing a kind hold", "kind", k.name, "err", err)
	}
}

// KindHold is a kind-wide hold, as [HoldKind] takes, for an owner that
// takes and drops it repeatedly: a phase's windows, a kind's counted
// activations. Take and Drop do not allocate, and while the hold is taken
// the kind's flags list the owner's name in [State.Owners] (instead of
// "kind:<kind>"). Take and Drop have HoldKind's semantics: the hold is one
// activation of every flag of the kind, flags registered later included,
// and dropping it takes back exactly what it added. A KindHold is safe for
// concurrent use; it is either taken or not (Take on a taken hold, and
// Drop on a dropped one, do nothing).
type KindHold struct {
	k     *kindRec
	owner string
	i     int  // the owner's index in k.owners, which only grows
	taken bool // guarded by reg.mu
}

// NewKindHold returns a dropped hold on kind for owner, a short name an
// operator can read ("phase:stm"). It is an error if kind is not an
// identifier or owner is empty, longer than 256 bytes or has a control
// character. Owner names need not be unique: holds with the same owner
// name are counted together. Make one KindHold per owner, once (the kind
// remembers every owner name it has seen), not one per use.
func NewKindHold(kind, owner string) (*KindHold, error) {
	if err := checkKind(kind); err != nil {
		return nil, fmt.Errorf("dflag: NewKindHold: %w", err)
	}
	if err := checkOwner(owner); err != nil {
		return nil, fmt.Errorf("dflag: NewKindHold(%q, %q): %w", kind, owner, err)
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	k := kindLocked(kind)
	i := slices.IndexFunc(k.owners, func(o kindOwner) bool { return o.name == owner })
	if i < 0 {
		k.owners = append(k.owners, kindOwner{name: owner})
		i = len(k.owners) - 1
	}
	return &KindHold{k: k, owner: owner, i: i}, nil
}

// Take takes the hold if it is not taken. Its error is a *[SwitchError]
// if call sites of the kind could not be switched (the hold is in force in
// the counts all the same).
func (h *KindHold) Take() error { return h.switchHold(+1) }

// Drop drops the hold if it is taken. Its error is a *[SwitchError] if
// call sites of the kind could not be switched.
func (h *KindHold) Drop() error { return h.switchHold(-1) }

// Taken reports whether the hold is taken.
func (h *KindHold) Taken() bool {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return h.taken
}

// Kind returns the hold's kind.
func (h *KindHold) Kind() string { return h.k.name }

// Owner returns the hold's owner name.
func (h *KindHold) Owner() string { return h.owner }

func (h *KindHold) switchHold(delta int) error {
	reg.mu.Lock()
	if h.taken == (delta > 0) {
		reg.mu.Unlock()
		return nil
	}
	h.taken = delta > 0
	k := h.k
	if delta > 0 {
		k.holds++
		k.owners[h.i].n++
	} else {
		k.holds--
		k.owners[h.i].n--
	}
	ev := kindHoldLocked(k.name, k, delta)
	reg.mu.Unlock()
	notify(ev)
	return ev.error()
}

// kindHoldLocked adds (delta +1) or takes back (-1) one kind hold's
// activation on every flag of kind; reg.mu must be held.
func kindHoldLocked(kind string, k *kindRec, delta int) Event {
	ev := Event{Op: OpActivate, Kind: kind}
	if delta < 0 {
		ev.Op = OpDeactivate
	}
	var sites []*Flag
	for _, f := range k.flags {
		ev.Matched++
		switch {
		case delta > 0 && !f.unhooked():
			f.activation++
			f.kindHeld++
		case delta < 0 && f.kindHeld > 0:
			f.kindHeld--
			if f.activation > 0 {
				f.activation--
			}
		}
		if f.syncHook(&sites) {
			ev.Flipped++
		}
	}
	n, patched, took, err := patchSites(sites)
	ev.Flipped += n
	ev.Patched, ev.PatchTime, ev.Err = patched, took, err
	return ev
}
