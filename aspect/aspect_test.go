package aspect_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bounded.dev/aspect"
	"bounded.dev/dflag"
	"bounded.dev/dflag/dflagtest"
)

func TestMain(m *testing.M) { dflagtest.Main(m) }

var (
	named                = aspect.New("aspect_named")
	namedFlag, namedLine = named.Opt("x", "named after this line"), thisLine()
)

// thisLine returns the line that calls it.
func thisLine() int {
	_, _, line, _ := runtime.Caller(1)
	return line
}

func TestOptIsNamedAfterTheCaller(t *testing.T) {
	want := fmt.Sprintf("aspect_named:x@bounded.dev/aspect/aspect_test.go:%d", namedLine)
	if namedFlag.Name() != want {
		t.Fatalf("name %q, want %q", namedFlag.Name(), want)
	}
	d := named.Default("d")
	f := named.Feature("f")
	if !strings.HasPrefix(d.Name(), "aspect_named:d@bounded.dev/aspect/aspect_test.go:") ||
		d.Mode() != dflag.ModeDefault || !d.On() {
		t.Fatalf("Default: %v %v %v", d.Name(), d.Mode(), d.On())
	}
	if f.Mode() != dflag.ModeFeature || f.On() || namedFlag.On() {
		t.Fatalf("Feature on %v, Opt on %v after Init", f.On(), namedFlag.On())
	}
}

func TestNewReturnsOneKindPerName(t *testing.T) {
	a := aspect.New("aspect_one", aspect.WithLinger(0))
	b := aspect.New("aspect_one", aspect.WithLinger(time.Hour))
	if a != b || a.Name() != "aspect_one" || b.Linger() != 0 {
		t.Fatalf("New twice: %p %p linger %v", a, b, b.Linger())
	}
	if k, ok := aspect.Lookup("aspect_one"); !ok || k != a {
		t.Fatal("Lookup did not find the kind")
	}
	if _, ok := aspect.Lookup("aspect_never"); ok {
		t.Fatal("Lookup found a kind nobody created")
	}
	if aspect.New("aspect_default").Linger() != aspect.DefaultLinger {
		t.Fatal("default linger not applied")
	}
	if aspect.DefaultLinger <= 0 || aspect.DefaultLinger > time.Second {
		t.Fatalf("DefaultLinger %v not in (0, 1s]", aspect.DefaultLinger)
	}
}

func TestNewPanicsOnInvalidName(t *testing.T) {
	for _, name := range []string{"", "9x", "a-b", "a b", "kind:x"} {
		func() {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.HasPrefix(msg, "aspect: New(") || strings.Count(msg, "aspect:") != 1 {
					t.Errorf("New(%q) panicked with %q; want one aspect: prefix", name, msg)
				}
			}()
			aspect.New(name)
		}()
		err := aspect.CheckName(name)
		if err == nil || !strings.HasPrefix(err.Error(), "aspect: ") || aspect.Valid(name) == nil {
			t.Errorf("CheckName(%q) = %v", name, err)
		}
	}
	if err := aspect.CheckName("request_tracing2"); err != nil {
		t.Fatal(err)
	}
}

// activation returns the dflag activation count of f.
func activation(f *dflag.Flag) uint64 { return f.State().Activation }

func TestActivationsAreCountedAndReleaseIsIdempotent(t *testing.T) {
	k := aspect.New("aspect_counted", aspect.WithLinger(0))
	f := k.Opt("f")
	if f.On() || k.Active() || k.Holders() != 0 {
		t.Fatal("on before activation")
	}
	r1 := k.Activate()
	r2 := k.Activate()
	if !f.On() || !k.Active() || k.Holders() != 2 || activation(f) != 1 {
		t.Fatalf("two activations: on %v holders %d dflag activation %d", f.On(), k.Holders(), activation(f))
	}
	r1()
	r1() // idempotent: must not release r2's activation
	r1()
	if !f.On() || k.Holders() != 1 {
		t.Fatalf("after one release: on %v holders %d", f.On(), k.Holders())
	}
	r2()
	r2()
	if f.On() || k.Active() || k.Holders() != 0 || activation(f) != 0 {
		t.Fatalf("after both releases (no linger): on %v holders %d activation %d", f.On(), k.Holders(), activation(f))
	}
	// A later activation takes the hold again.
	k.Do(func() {
		if !f.On() || k.Holders() != 1 {
			t.Fatal("Do did not activate")
		}
	})
	if f.On() || k.Holders() != 0 {
		t.Fatal("Do did not release")
	}
}

func TestDoReleasesOnPanic(t *testing.T) {
	k := aspect.New("aspect_panic", aspect.WithLinger(0))
	f := k.Opt("f")
	func() {
		defer func() { recover() }()
		k.Do(func() { panic("boom") })
	}()
	if f.On() || k.Holders() != 0 {
		t.Fatal("a panicking Do leaked its activation")
	}
}

func TestActivationAppliesToLaterFlags(t *testing.T) {
	k := aspect.New("aspect_late", aspect.WithLinger(0))
	release := k.Activate()
	late := k.Opt("late")
	if !late.On() {
		t.Fatal("a flag declared while the kind is active is off")
	}
	release()
	if late.On() {
		t.Fatal("release left the late flag on")
	}
}

// holdEvents counts the dflag operations on kind (HoldKind and its
// release show up as kind-wide activate and deactivate events).
func holdEvents(kind string) (count func() int64, stop func()) {
	var n atomic.Int64
	stop = dflag.Watch(func(ev dflag.Event) {
		if ev.Kind == kind {
			n.Add(1)
		}
	})
	return n.Load, stop
}

func TestLingerKeepsTheKindActiveAndAbsorbsBursts(t *testing.T) {
	k := aspect.New("aspect_linger", aspect.WithLinger(time.Hour))
	f := k.Opt("f")
	count, stop := holdEvents("aspect_linger")
	defer stop()
	for range 1000 {
		release := k.Activate()
		if !f.On() {
			t.Fatal("off while held")
		}
		release()
	}
	if !f.On() || !k.Active() || k.Holders() != 0 {
		t.Fatalf("after the burst: on %v active %v holders %d", f.On(), k.Active(), k.Holders())
	}
	if n := count(); n != 1 {
		t.Fatalf("a burst of 1000 activations made %d dflag operations, want 1", n)
	}
	if activation(f) != 1 {
		t.Fatalf("dflag activation %d while lingering, want 1", activation(f))
	}
	if !k.Flush() || f.On() || k.Active() || count() != 2 {
		t.Fatalf("Flush: on %v active %v events %d", f.On(), k.Active(), count())
	}
	if k.Flush() {
		t.Fatal("second Flush dropped a hold")
	}
	// Without a linger, each activation switches the flags.
	k0 := aspect.New("aspect_nolinger", aspect.WithLinger(0))
	count0, stop0 := holdEvents("aspect_nolinger")
	defer stop0()
	for range 10 {
		k0.Activate()()
	}
	if n := count0(); n != 20 {
		t.Fatalf("10 activations without linger made %d dflag operations, want 20", n)
	}
}

// waitInactive polls until k drops its hold and returns when it did; it
// fails the test after a generous deadline.
func waitInactive(t *testing.T, k *aspect.Kind) time.Time {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for k.Active() {
		if time.Now().After(deadline) {
			t.Fatalf("kind %s still active after 20s (holders %d)", k, k.Holders())
		}
		time.Sleep(time.Millisecond)
	}
	return time.Now()
}

func TestLingerExpires(t *testing.T) {
	const linger = 30 * time.Millisecond
	k := aspect.New("aspect_expires", aspect.WithLinger(linger))
	f := k.Opt("f")
	release := k.Activate()
	released := time.Now()
	release()
	if !f.On() {
		t.Fatal("off right after the last release despite the linger")
	}
	off := waitInactive(t, k)
	if f.On() || activation(f) != 0 {
		t.Fatal("flag on after the linger")
	}
	if d := off.Sub(released); d < linger {
		t.Fatalf("hold dropped after %v, before the %v linger", d, linger)
	}
}

func TestActivationDuringLingerCancelsTheDrop(t *testing.T) {
	const linger = 50 * time.Millisecond
	k := aspect.New("aspect_cancel", aspect.WithLinger(linger))
	f := k.Opt("f")
	k.Activate()()
	release := k.Activate() // during the linger
	// Well past the first linger, the second activation still holds.
	time.Sleep(3 * linger)
	if !f.On() || !k.Active() || activation(f) != 1 {
		t.Fatalf("pending drop not cancelled: on %v active %v activation %d", f.On(), k.Active(), activation(f))
	}
	release()
	waitInactive(t, k)
	if f.On() {
		t.Fatal("flag on after the final linger")
	}
}

func TestConcurrentActivationsNeverLeak(t *testing.T) {
	k := aspect.New("aspect_concurrent", aspect.WithLinger(200*time.Microsecond))
	f := k.Opt("f")
	var wg sync.WaitGroup
	var offWhileHeld atomic.Int64
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				switch (g + i) % 3 {
				case 0:
					release := k.Activate()
					if !f.On() {
						offWhileHeld.Add(1)
					}
					release()
					release()
				case 1:
					k.Do(func() {
						if !f.On() {
							offWhileHeld.Add(1)
						}
					})
				case 2:
					r1 := k.Activate()
					r2 := k.Activate()
					r1()
					if i%50 == 0 {
						time.Sleep(300 * time.Microsecond) // let lingers expire
					}
					if !f.On() {
						offWhileHeld.Add(1)
					}
					r2()
				}
			}
		}()
	}
	wg.Wait()
	if n := offWhileHeld.Load(); n != 0 {
		t.Fatalf("flag seen off %d times while held", n)
	}
	if k.Holders() != 0 {
		t.Fatalf("holders %d after every release", k.Holders())
	}
	waitInactive(t, k)
	if f.On() || activation(f) != 0 {
		t.Fatalf("flag on (activation %d) after the linger", activation(f))
	}
}
