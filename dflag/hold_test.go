package dflag_test

import (
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"bounded.dev/dflag"
)

var (
	holdBreakerA = dflag.Default("hold_breaker", "a", "a circuit breaker")
	holdBreakerB = dflag.Default("hold_breaker", "b", "a circuit breaker")
	holdBreakerG = dflag.Default("hold_breaker", "g", "a circuit breaker")
	holdOptC     = dflag.Opt("hold_opt", "c", "advice a traced request holds on")
	holdFeatD    = dflag.Feature("hold_feat", "d", "a feature the fleet activates")
	holdOverE1   = dflag.Feature("hold_over", "e1")
	holdOverE2   = dflag.Feature("hold_over", "e2")
	holdOverE3   = dflag.Feature("hold_over", "e3")
	holdBadF     = dflag.Feature("hold_bad", "f")
	holdTwiceH   = dflag.Feature("hold_twice", "h")
)

// newHold makes a hold released when the test ends.
func newHold(t *testing.T, owner string, terms ...string) *dflag.Hold {
	t.Helper()
	h, err := dflag.NewHold(owner)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Release() })
	if err := h.Replace(terms...); err != nil {
		t.Fatal(err)
	}
	return h
}

func wantOn(t *testing.T, f *dflag.Flag, on bool, when string) {
	t.Helper()
	if f.On() != on {
		t.Fatalf("%s: %s is %v, want %v (%+v)", when, f.Name(), f.On(), on, f.State())
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestHoldComposition is issue 13's table of composition rules, a subtest
// per row.
func TestHoldComposition(t *testing.T) {
	t.Run("fleet trips a Default breaker, then clears the key", func(t *testing.T) {
		fleet := newHold(t, "etcd:/dflag/trip", "-hold_breaker:a@")
		wantOn(t, holdBreakerA, false, "tripped by the fleet")
		if s := holdBreakerA.State(); s.Activation != 1 {
			t.Fatalf("the fleet's trip changed the C count: %+v", s)
		}
		must(t, fleet.Release())
		wantOn(t, holdBreakerA, true, "key cleared")
	})
	t.Run("an operator tripped it locally; the fleet trips and clears", func(t *testing.T) {
		mustMatch(t, 1)(dflag.Deactivate("hold_breaker:b@")) // the C library's trip
		defer dflag.Activate("hold_breaker:b@")
		op := newHold(t, "console:alice", "-hold_breaker:g@") // an operator's hold
		fleet := newHold(t, "etcd:/dflag/trip", "-hold_breaker:b@", "-hold_breaker:g@")
		wantOn(t, holdBreakerB, false, "tripped twice")
		must(t, fleet.Release())
		wantOn(t, holdBreakerB, false, "the fleet cleared; the local trip remains")
		wantOn(t, holdBreakerG, false, "the fleet cleared; the local hold remains")
		must(t, op.Release())
		wantOn(t, holdBreakerG, true, "the operator released")
	})
	t.Run("a traced request holds an Opt flag on; the fleet forces it off", func(t *testing.T) {
		req := newHold(t, "request:1", "+hold_opt:c@")
		wantOn(t, holdOptC, true, "held by the request")
		fleet := newHold(t, "etcd:/dflag/off", "-hold_opt:c@")
		wantOn(t, holdOptC, false, "forced off by the fleet")
		// Whatever other holders do.
		release, err := dflag.HoldKind("hold_opt")
		must(t, err)
		mustMatch(t, 1)(dflag.Activate("hold_opt:c@"))
		other := newHold(t, "request:2", "+hold_opt:")
		wantOn(t, holdOptC, false, "forced off, with three more activations")
		release()
		dflag.Deactivate("hold_opt:c@")
		must(t, other.Release())
		must(t, fleet.Release())
		wantOn(t, holdOptC, true, "the fleet released; the request still holds it")
		must(t, req.Release())
		wantOn(t, holdOptC, false, "everyone released")
	})
	t.Run("the fleet activates a Feature flag; an operator unhooks it locally", func(t *testing.T) {
		newHold(t, "etcd:/dflag/feat", "+hold_feat:d@")
		wantOn(t, holdFeatD, true, "activated by the fleet")
		mustMatch(t, 1)(dflag.Unhook("hold_feat:d@"))
		wantOn(t, holdFeatD, false, "unhooked locally (C count)")
		mustMatch(t, 1)(dflag.Rehook("hold_feat:d@"))
		wantOn(t, holdFeatD, true, "rehooked")
		op := newHold(t, "console:bob", "!hold_feat:d@")
		wantOn(t, holdFeatD, false, "unhooked locally (a hold)")
		// Plain Activate is ignored while a hold unhooks, as with Unhook.
		mustMatch(t, 1)(dflag.Activate("hold_feat:d@"))
		if s := holdFeatD.State(); s.On || s.Activation != 0 {
			t.Fatalf("Activate under a hold's unhook: %+v", s)
		}
		must(t, op.Release())
		wantOn(t, holdFeatD, true, "the operator released")
	})
	t.Run("a key's terms are replaced by an overlapping set", func(t *testing.T) {
		fleet := newHold(t, "etcd:/dflag/over", "+hold_over:e1@", "+hold_over:e2@")
		var offSeen atomic.Bool
		var stop atomic.Bool
		var wg sync.WaitGroup
		wg.Go(func() {
			for !stop.Load() {
				if !holdOverE2.On() {
					offSeen.Store(true)
				}
			}
		})
		var flips atomic.Int64
		unwatch := dflag.Watch(func(ev dflag.Event) {
			if ev.Owner == "etcd:/dflag/over" {
				flips.Add(int64(ev.Flipped))
			}
		})
		defer unwatch()
		for i := range 200 {
			if i%2 == 0 {
				must(t, fleet.Replace("+hold_over:e[23]@")) // the same flag by another pattern
			} else {
				must(t, fleet.Replace("+hold_over:e1@", "+hold_over:e2@"))
			}
		}
		stop.Store(true)
		wg.Wait()
		if offSeen.Load() {
			t.Fatal("a flag in both sets was seen off between replacements")
		}
		if n := flips.Load(); n != 400 {
			t.Errorf("200 replacements flipped %d flags, want 400 (e1 and e3 each time)", n)
		}
		wantOn(t, holdOverE1, true, "after the last replacement")
		wantOn(t, holdOverE3, false, "after the last replacement")
		must(t, fleet.Release())
		wantOn(t, holdOverE2, false, "released")
	})
	t.Run("a key's new value is malformed", func(t *testing.T) {
		fleet := newHold(t, "etcd:/dflag/bad", "+hold_bad:f@")
		other := newHold(t, "etcd:/dflag/other", "+hold_twice:h@")
		for _, bad := range [][]string{{"+("}, {"+hold_bad:f@", "x"}, {"?hold_bad:f@"}, {""}} {
			err := fleet.Replace(bad...)
			if err == nil || !strings.HasPrefix(err.Error(), `dflag: hold "etcd:/dflag/bad": `) || strings.Count(err.Error(), "dflag:") != 1 {
				t.Errorf("Replace(%q) = %v; want an error naming the hold, prefixed once", bad, err)
			}
		}
		wantOn(t, holdBadF, true, "the last valid terms stay in force")
		if got := fleet.Terms(); len(got) != 1 || got[0] != "+hold_bad:f@" {
			t.Errorf("Terms = %q", got)
		}
		wantOn(t, holdTwiceH, true, "another key is unaffected")
		must(t, fleet.Release())
		must(t, other.Release())
		wantOn(t, holdBadF, false, "released")
	})
	t.Run("the same key delivered twice, or the whole prefix re-read", func(t *testing.T) {
		var events atomic.Int64
		unwatch := dflag.Watch(func(ev dflag.Event) {
			if strings.HasPrefix(ev.Owner, "etcd:/dflag/twice") {
				events.Add(1)
			}
		})
		defer unwatch()
		a := newHold(t, "etcd:/dflag/twice/a", "+hold_twice:h@")
		b := newHold(t, "etcd:/dflag/twice/b", "+hold_twice:")
		before := holdTwiceH.State()
		for range 3 {
			must(t, a.Replace("+hold_twice:h@"))
			must(t, b.Replace("+hold_twice:"))
		}
		if n := events.Load(); n != 2 {
			t.Errorf("%d events, want 2 (the first delivery of each key)", n)
		}
		if after := holdTwiceH.State(); after.On != before.On || after.Activation != before.Activation || len(after.Owners) != 2 {
			t.Errorf("re-delivery changed the flag: %+v -> %+v", before, after)
		}
	})
}

var holdLate = dflag.Feature("hold_misc", "x", "a flag for the hold API tests")

func TestHoldAPI(t *testing.T) {
	h := newHold(t, "test:api", "+hold_misc:", "!hold_misc:y")
	if _, err := dflag.NewHold("test:api"); err == nil || !strings.Contains(err.Error(), "is live") {
		t.Errorf("a second NewHold with a live owner = %v", err)
	}
	for _, bad := range []string{"", "a\nb", strings.Repeat("x", 257)} {
		if _, err := dflag.NewHold(bad); err == nil || !strings.HasPrefix(err.Error(), "dflag: ") {
			t.Errorf("NewHold(%q) = %v", bad, err)
		}
	}
	ys, _ := dflag.Flags("hold_misc:y")
	if got := h.Matched(); len(got) != 2 || got[0] < 1 || got[1] != len(ys) {
		t.Errorf("Matched = %v; want [>=1 %d]", got, len(ys))
	}
	if h.Owner() != "test:api" {
		t.Errorf("Owner = %q", h.Owner())
	}
	// A hold applies to flags registered while it is in force.
	late := dflag.Feature("hold_misc", "late")
	wantOn(t, late, true, "registered under a + hold")
	lateY := dflag.Feature("hold_misc", "y")
	if n, err := dflag.Activate("hold_misc:y@"); n < 1 || err != nil {
		t.Fatalf("Activate(hold_misc:y@) = %d, %v", n, err)
	}
	wantOn(t, lateY, false, "registered under a ! hold, then activated")
	if got := h.Matched(); got[1] != len(ys)+1 {
		t.Errorf("Matched = %v after declaring hold_misc:y; want %d for the second term", got, len(ys)+1)
	}

	// Owners: State and the JSON listing show them; the C listing does not.
	s := holdLate.State()
	if len(s.Owners) != 1 || s.Owners[0].Name != "test:api" || len(s.Owners[0].Terms) != 1 || s.Owners[0].Terms[0] != "+hold_misc:" {
		t.Fatalf("Owners = %+v", s.Owners)
	}
	var b strings.Builder
	must(t, dflag.WriteListJSON(&b, "hold_misc:x@"))
	var got []dflag.State
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatalf("%v: %s", err, b.String())
	}
	if !strings.Contains(b.String(), `"owners":[{"name":"test:api","terms":["+hold_misc:"]}]`) || len(got) == 0 || got[0].Owners[0].Name != "test:api" || got[0].Mode != dflag.ModeFeature {
		t.Errorf("JSON listing: %s", b.String())
	}
	b.Reset()
	must(t, dflag.WriteList(&b, "hold_misc:x@"))
	if want := holdLate.Name() + " (off): a flag for the hold API tests\n"; !strings.HasPrefix(b.String(), want) {
		t.Errorf("C listing = %q, want it to start with %q", b.String(), want)
	}

	must(t, h.Release())
	must(t, h.Release()) // idempotent
	wantOn(t, holdLate, false, "released")
	if len(holdLate.State().Owners) != 0 {
		t.Errorf("Owners after release: %+v", holdLate.State().Owners)
	}
	if err := h.Replace("+hold_misc:"); err == nil {
		t.Error("Replace on a released hold succeeded")
	}
	h2 := newHold(t, "test:api") // the name is free again
	must(t, h2.Release())
	dflag.Deactivate("hold_misc:y@")
}

var (
	kindHeldDefault = dflag.Default("kind_held", "d")
)

// TestHoldKindTakesBackOnlyWhatItAdded: a Default flag unhooked when the
// hold is taken ignores it, and the release does not deactivate it.
func TestHoldKindTakesBackOnlyWhatItAdded(t *testing.T) {
	mustMatch(t, 1)(dflag.Unhook("kind_held:d@"))
	release, err := dflag.HoldKind("kind_held")
	must(t, err)
	mustMatch(t, 1)(dflag.Rehook("kind_held:d@"))
	if s := kindHeldDefault.State(); len(s.Owners) != 0 {
		t.Errorf("owners of a flag that ignored the hold: %+v", s.Owners)
	}
	release()
	if s := kindHeldDefault.State(); s.Activation != 1 || !s.On {
		t.Fatalf("after the release: %+v; want the Default's activation 1", s)
	}
	release, _ = dflag.HoldKind("kind_held")
	if s := kindHeldDefault.State(); len(s.Owners) != 1 || s.Owners[0].Name != "kind:kind_held" {
		t.Errorf("owners under a kind hold: %+v", s.Owners)
	}
	release()
}
