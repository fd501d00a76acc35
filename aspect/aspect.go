package aspect

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"bounded.dev/dflag"
)

// DefaultLinger is how long a kind stays active after its last holder
// releases it, unless [WithLinger] says otherwise.
//
// 250 ms is well above the gap between requests of any service busy enough
// for re-patching to matter (at 10 requests/s the gap is 100 ms), so a steady
// trickle of opted-in requests keeps the advice on at the cost of one
// dflag switch, yet short enough that advice nobody asked for runs for at
// most a quarter of a second: a flip costs a few microseconds (an mprotect
// pair for call sites), so the linger bounds flips to four per second per
// kind however bursty the activations are.
const DefaultLinger = 250 * time.Millisecond

// config holds a kind's options.
type config struct {
	linger time.Duration
}

// Option configures a [Kind] created by [New].
type Option func(*config)

// WithLinger sets how long the kind stays active after its last holder
// releases it. Zero (or a negative duration) disables the linger: the last
// release drops the hold at once.
func WithLinger(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			d = 0
		}
		c.linger = d
	}
}

// Kind is a kind of advice: the flags of one dflag kind, switched together
// by counted activations. A Kind is safe for concurrent use.
type Kind struct {
	// holders counts unreleased activations. It is only incremented from
	// zero with mu held, after the dflag hold is taken, so holders > 0
	// implies that the hold is in place and Activate's fast path is a
	// compare-and-swap on it.
	holders atomic.Int64

	name   string
	linger time.Duration

	// held says whether hold is taken, for Active; it changes with mu held.
	held atomic.Bool

	// hold is the kind-wide dflag hold, owned by "kind:<name>", taken while
	// the kind has holders and during its linger. Taking and dropping it
	// does not allocate.
	hold *dflag.KindHold

	mu      sync.Mutex
	timer   *time.Timer // runs expire; created once
	armed   bool        // timer will run expire (or is about to)
	pending bool        // a drop is wanted at dropAt
	dropAt  time.Time   // when the pending drop is due
}

// kinds maps a name to its one Kind.
var kinds struct {
	mu sync.Mutex
	m  map[string]*Kind
}

// New returns the Kind named name, creating it with opts the first time the
// name is used. There is one Kind per name: a later New with the same name
// returns the same *Kind and ignores its options (see [Kind.Linger]);
// options that differ from the kind's are logged with [slog.Warn], since
// they are most likely a mistake.
//
// Like [regexp.MustCompile], New panics if name is not an identifier
// ([A-Za-z_][A-Za-z0-9_]*), the only names dflag accepts as kinds; it is
// meant for package-level variables with constant names. Use [CheckName] to
// check a name that comes from input.
func New(name string, opts ...Option) *Kind {
	if err := CheckName(name); err != nil {
		panic(fmt.Sprintf("aspect: New(%q): %s", name, strings.TrimPrefix(err.Error(), "aspect: ")))
	}
	c := config{linger: DefaultLinger}
	for _, o := range opts {
		o(&c)
	}
	kinds.mu.Lock()
	defer kinds.mu.Unlock()
	if k, ok := kinds.m[name]; ok {
		if len(opts) > 0 && c.linger != k.linger {
			slog.Warn("aspect: New: the kind exists with other options, and this call's are ignored: create each kind once and share its *Kind",
				"kind", name, "linger", k.linger, "ignored_linger", c.linger)
		}
		return k
	}
	hold, err := dflag.NewKindHold(name, "kind:"+name)
	if err != nil {
		panic(fmt.Sprintf("aspect: New(%q): %s", name, strings.TrimPrefix(err.Error(), "dflag: ")))
	}
	k := &Kind{name: name, linger: c.linger, hold: hold}
	if kinds.m == nil {
		kinds.m = make(map[string]*Kind)
	}
	kinds.m[name] = k
	return k
}

// Lookup returns the Kind named name if [New] has created it.
func Lookup(name string) (*Kind, bool) {
	kinds.mu.Lock()
	defer kinds.mu.Unlock()
	k, ok := kinds.m[name]
	return k, ok
}

// CheckName returns nil if name can name a kind (an identifier,
// [A-Za-z_][A-Za-z0-9_]*, the only names dflag accepts as kinds), or an
// error that says why not. It is [dflag.CheckKind], with this package's
// prefix.
func CheckName(name string) error {
	if err := dflag.CheckKind(name); err != nil {
		return errors.New("aspect: " + strings.TrimPrefix(err.Error(), "dflag: "))
	}
	return nil
}

// Valid is [CheckName].
//
// Deprecated: use CheckName; the name reads like a predicate but it
// returns an error.
func Valid(name string) error { return CheckName(name) }

// Name returns the kind's name, which is the dflag kind of its advice.
func (k *Kind) Name() string { return k.name }

// String returns the kind's name.
func (k *Kind) String() string { return k.name }

// Linger returns how long the kind stays active after its last release.
func (k *Kind) Linger() time.Duration { return k.linger }

// Holders returns the number of unreleased activations.
func (k *Kind) Holders() int { return int(k.holders.Load()) }

// Active reports whether the kind's dflag hold is in place: while it has
// holders, and during the linger after the last release.
func (k *Kind) Active() bool { return k.held.Load() }

// Activate switches on the kind's advice (every flag of the kind, including
// flags registered later) and returns the release, which is idempotent:
// calls after the first do nothing. Every activation must be released,
// typically with defer. When Activate returns, the kind's flags are on
// (unless an operator unhooked them).
//
// Activate is cheap when the kind is already active: a compare-and-swap on
// the holder count and one small allocation for the release. Only the
// first activation, when the kind is not lingering, calls into dflag (and
// may patch code); only the last release schedules the drop. Those calls
// into dflag are made with the kind's lock held, so a [dflag.Watch]
// callback must not activate or release the kind that it is notified about.
func (k *Kind) Activate() (release func()) {
	k.acquire()
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			k.release()
		}
	}
}

// Do runs fn with the kind activated, and releases the activation when fn
// returns or panics. It does not allocate when the kind is already active.
func (k *Kind) Do(fn func()) {
	k.acquire()
	defer k.release()
	fn()
}

// acquire adds one holder, taking the dflag hold on the first.
func (k *Kind) acquire() {
	for {
		n := k.holders.Load()
		if n <= 0 {
			break
		}
		if k.holders.CompareAndSwap(n, n+1) {
			return
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.holders.Load() == 0 {
		k.cancelLocked() // a pending drop, if any, is cancelled
		if !k.held.Load() {
			if err := k.hold.Take(); err != nil {
				// The hold is in force; call sites the engine could not
				// switch keep running or not as their State.On says,
				// and later control calls retry them.
				slog.Error("aspect: activating a kind", "kind", k.name, "err", err)
			}
			k.held.Store(true)
		}
	}
	k.holders.Add(1)
}

// release drops one holder; after the last, the hold is dropped once the
// linger has passed with no new activation.
func (k *Kind) release() {
	n := k.holders.Add(-1)
	if n > 0 {
		return
	}
	if n < 0 {
		k.holders.Add(1) // unreachable: releases are idempotent
		panic("aspect: kind " + k.name + " released more often than activated")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.holders.Load() != 0 || !k.held.Load() || k.pending {
		return // reactivated, or the drop is already scheduled
	}
	if k.linger <= 0 {
		k.dropLocked()
		return
	}
	k.pending = true
	k.dropAt = time.Now().Add(k.linger)
	if k.armed {
		return // expire will run and re-arm itself for the new deadline
	}
	k.armed = true
	if k.timer == nil {
		k.timer = time.AfterFunc(k.linger, k.expire)
	} else {
		k.timer.Reset(k.linger)
	}
}

// cancelLocked cancels a pending drop; k.mu must be held. The timer is left
// running (stopping and re-arming it on every burst would cost more than
// the activations it absorbs): expire finds nothing pending and stops.
func (k *Kind) cancelLocked() { k.pending = false }

// expire drops the hold if a drop is pending and due. If the drop was
// cancelled and rescheduled since the timer was armed, it re-arms the
// timer for the new deadline instead.
func (k *Kind) expire() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.armed = false
	if !k.pending || k.holders.Load() != 0 {
		return
	}
	if wait := time.Until(k.dropAt); wait > 0 {
		k.armed = true
		k.timer.Reset(wait)
		return
	}
	k.pending = false
	k.dropLocked()
}

// dropLocked releases the dflag hold; k.mu must be held.
func (k *Kind) dropLocked() {
	if !k.held.Load() {
		return
	}
	if err := k.hold.Drop(); err != nil {
		// The hold is dropped in dflag's counts; call sites the engine
		// could not switch are retried by later control calls.
		slog.Error("aspect: releasing a kind", "kind", k.name, "err", err)
	}
	k.held.Store(false)
}

// Flush drops the hold at once if the kind is lingering (it has no holders
// but its linger has not yet passed), and reports whether it did. Programs
// call it before a measurement or at shutdown; tests call it instead of
// waiting for the linger.
func (k *Kind) Flush() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.holders.Load() != 0 || !k.held.Load() {
		return false
	}
	k.cancelLocked()
	k.dropLocked()
	return true
}

// Opt declares a flag of the kind for advice that is always safe to run but
// can be skipped: on until [dflag.Init], then off unless the kind (or the
// flag) is activated. The flag is named after the line that calls Opt. Like
// [dflag.Opt], declare it in a package-level variable; it panics if name is
// empty or contains '@', a newline or NUL.
func (k *Kind) Opt(name string, doc ...string) *dflag.Flag {
	return dflag.Declare(1, dflag.ModeOpt, k.name, name, doc...)
}

// Default declares a flag of the kind that is on (activation 1) until
// deactivated, named after the line that calls Default. It panics like
// [Kind.Opt].
func (k *Kind) Default(name string, doc ...string) *dflag.Flag {
	return dflag.Declare(1, dflag.ModeDefault, k.name, name, doc...)
}

// Feature declares a flag of the kind that is off until activated, named
// after the line that calls Feature. It panics like [Kind.Opt].
func (k *Kind) Feature(name string, doc ...string) *dflag.Flag {
	return dflag.Declare(1, dflag.ModeFeature, k.name, name, doc...)
}
