package fleet

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/fleet/etcdtest"
)

// One flag per row of issue 13's composition table, so that rows do not
// share state. Patterns end in "@" so that a name is not a prefix of
// another.
var (
	ruleTrip        = dflag.Default("breaker", "rule_trip", "row 1")
	ruleLocalTrip   = dflag.Default("breaker", "rule_local_trip", "row 2, local trip by Deactivate")
	ruleLocalHold   = dflag.Default("breaker", "rule_local_hold", "row 2, local trip by the console's hold")
	ruleRequest     = dflag.Opt("request_tracing", "rule_request", "row 3")
	ruleFeature     = dflag.Feature("advice", "rule_feature", "row 4, local Unhook")
	ruleFeatureHold = dflag.Feature("advice", "rule_feature_hold", "row 4, local unhook by the console's hold")
	ruleKeepA       = dflag.Default("breaker", "rule_keep_a", "row 5, old set only")
	ruleKeepB       = dflag.Default("breaker", "rule_keep_b", "row 5, both sets")
	ruleKeepC       = dflag.Default("breaker", "rule_keep_c", "row 5, new set only")
	ruleBadA        = dflag.Default("breaker", "rule_bad_a", "row 6, malformed key")
	ruleBadB        = dflag.Default("breaker", "rule_bad_b", "row 6, other key")
	ruleTwice       = dflag.Default("breaker", "rule_twice", "row 7")
)

func pat(f *dflag.Flag) string { return f.State().Kind + ":" + f.State().Flag + "@" }

func mustHold(t *testing.T, owner string, terms ...string) *dflag.Hold {
	t.Helper()
	h, err := dflag.NewHold(owner)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Replace(terms...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Release() })
	return h
}

func wantOn(t *testing.T, f *dflag.Flag, want bool, when string) {
	t.Helper()
	if f.On() != want {
		t.Errorf("%s: %s is %v, want %v (owners %v)", when, f.Name(), f.On(), want, f.State().Owners)
	}
}

func hasOwner(f *dflag.Flag, owner string) bool {
	return slices.ContainsFunc(f.State().Owners, func(o dflag.Owner) bool { return o.Name == owner })
}

// TestCompositionRules runs issue 13's table, one subtest per row, against
// a real etcd and the real registry: remote holds as the bridge makes them,
// local control as the console, traced requests and operators make it.
func TestCompositionRules(t *testing.T) {
	te := newEtcd(t, nil, false)
	proxy := etcdtest.NewProxy(t, te.Endpoint())
	cfg, _ := testConfig(t, proxy.Addr())
	p := cfg.Prefix
	b := startBridge(t, cfg)

	// set writes a key and waits until the bridge has it in force (or
	// refused it).
	set := func(t *testing.T, k, v string) {
		t.Helper()
		te.Put(p+k, v)
		eventually(t, 5*time.Second, "key "+k+" applied", func() bool {
			ks, ok := keyStatus(b, p+k)
			return ok && (strings.Join(ks.Terms, " ") == strings.Join(strings.Fields(v), " ") || ks.Refused == v)
		})
	}
	clear := func(t *testing.T, k string) {
		t.Helper()
		te.Delete(p + k)
		waitTerms(t, b, p+k, "<none>")
	}

	t.Run("fleet trips a Default breaker, then clears the key", func(t *testing.T) {
		wantOn(t, ruleTrip, true, "before")
		set(t, "trip", "-"+pat(ruleTrip))
		wantOn(t, ruleTrip, false, "while the key is in force")
		if !hasOwner(ruleTrip, "etcd:"+p+"trip") {
			t.Errorf("owners %v do not show the key", ruleTrip.State().Owners)
		}
		clear(t, "trip")
		wantOn(t, ruleTrip, true, "after the key is cleared")
	})

	t.Run("an operator tripped it locally; the fleet trips and clears", func(t *testing.T) {
		t.Run("local Deactivate", func(t *testing.T) {
			if _, err := dflag.Deactivate(pat(ruleLocalTrip)); err != nil {
				t.Fatal(err)
			}
			defer dflag.Activate(pat(ruleLocalTrip))
			set(t, "localtrip", "-"+pat(ruleLocalTrip))
			wantOn(t, ruleLocalTrip, false, "fleet and operator trip")
			clear(t, "localtrip")
			wantOn(t, ruleLocalTrip, false, "after the fleet clears: the local trip remains")
		})
		t.Run("console hold", func(t *testing.T) {
			mustHold(t, "console:alice", "-"+pat(ruleLocalHold))
			set(t, "localhold", "-"+pat(ruleLocalHold))
			wantOn(t, ruleLocalHold, false, "fleet and operator trip")
			clear(t, "localhold")
			wantOn(t, ruleLocalHold, false, "after the fleet clears: the local trip remains")
		})
	})

	t.Run("a traced request holds an Opt flag on; the fleet forces it off", func(t *testing.T) {
		req := mustHold(t, "request:rule-1", "+"+pat(ruleRequest))
		other := mustHold(t, "request:rule-2", "+"+pat(ruleRequest))
		if _, err := dflag.Activate(pat(ruleRequest)); err != nil {
			t.Fatal(err)
		}
		defer dflag.Deactivate(pat(ruleRequest))
		wantOn(t, ruleRequest, true, "request holds it")
		set(t, "request", "-"+pat(ruleRequest))
		wantOn(t, ruleRequest, false, "fleet forces off, whatever other holders do")
		if _, err := dflag.Activate(pat(ruleRequest)); err != nil { // another holder piles on
			t.Fatal(err)
		}
		wantOn(t, ruleRequest, false, "fleet forces off after one more Activate")
		dflag.Deactivate(pat(ruleRequest))
		clear(t, "request")
		wantOn(t, ruleRequest, true, "after the fleet clears, the request still holds it")
		other.Release()
		dflag.Deactivate(pat(ruleRequest))
		wantOn(t, ruleRequest, true, "the first request still holds it")
		req.Release()
		wantOn(t, ruleRequest, false, "every request released")
	})

	t.Run("the fleet activates a Feature flag; an operator unhooks it locally", func(t *testing.T) {
		t.Run("local Unhook", func(t *testing.T) {
			set(t, "feature", "+"+pat(ruleFeature))
			wantOn(t, ruleFeature, true, "fleet activates")
			if _, err := dflag.Unhook(pat(ruleFeature)); err != nil {
				t.Fatal(err)
			}
			wantOn(t, ruleFeature, false, "a local unhook beats a remote activation")
			set(t, "feature", "+"+pat(ruleFeature)+" +advice:unrelated@") // the key is rewritten
			wantOn(t, ruleFeature, false, "still unhooked after the key changes")
			dflag.Rehook(pat(ruleFeature))
			wantOn(t, ruleFeature, true, "rehooked: the remote activation is back")
			clear(t, "feature")
			wantOn(t, ruleFeature, false, "key cleared")
		})
		t.Run("console hold", func(t *testing.T) {
			set(t, "featurehold", "+"+pat(ruleFeatureHold))
			wantOn(t, ruleFeatureHold, true, "fleet activates")
			op := mustHold(t, "console:bob", "!"+pat(ruleFeatureHold))
			wantOn(t, ruleFeatureHold, false, "a local unhook beats a remote activation")
			op.Release()
			wantOn(t, ruleFeatureHold, true, "operator released")
			clear(t, "featurehold")
		})
	})

	t.Run("a key's terms are replaced by an overlapping set", func(t *testing.T) {
		setA := "-" + pat(ruleKeepA) + " -" + pat(ruleKeepB)
		setC := "-" + pat(ruleKeepB) + " -" + pat(ruleKeepC)
		set(t, "overlap", setA)
		var flipped atomic.Int64
		var reads atomic.Int64
		var seenOn atomic.Int64 // after any registry change: deterministic
		stopWatch := dflag.Watch(func(dflag.Event) {
			if ruleKeepB.On() {
				seenOn.Add(1)
			}
		})
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if ruleKeepB.On() {
					flipped.Add(1)
				}
				reads.Add(1)
			}
		})
		for i := range 20 {
			v := setC
			if i%2 == 1 {
				v = setA
			}
			set(t, "overlap", v)
			wantOn(t, ruleKeepA, i%2 == 0, "the old-only flag")
			wantOn(t, ruleKeepC, i%2 == 1, "the new-only flag")
		}
		close(stop)
		wg.Wait()
		stopWatch()
		if n := seenOn.Load(); n != 0 {
			t.Errorf("the flag in both sets was on after %d registry changes", n)
		}
		if n := flipped.Load(); n != 0 {
			t.Errorf("the flag in both sets was seen on %d times in %d reads across 20 replacements", n, reads.Load())
		}
		clear(t, "overlap")
		wantOn(t, ruleKeepA, true, "cleared")
		wantOn(t, ruleKeepB, true, "cleared")
		wantOn(t, ruleKeepC, true, "cleared")
	})

	t.Run("a key's new value is malformed", func(t *testing.T) {
		set(t, "bad_a", "-"+pat(ruleBadA))
		set(t, "bad_b", "-"+pat(ruleBadB))
		set(t, "bad_a", "-"+pat(ruleBadA)+" -breaker:(")
		ks, _ := keyStatus(b, p+"bad_a")
		if ks.Error == "" || !strings.Contains(ks.Error, "refused") {
			t.Errorf("refusal not reported: %+v", ks)
		}
		wantOn(t, ruleBadA, false, "the key's last valid terms stay in force")
		clear(t, "bad_b")
		wantOn(t, ruleBadB, true, "the other key is unaffected")
		wantOn(t, ruleBadA, false, "still the last valid terms")
		clear(t, "bad_a")
		wantOn(t, ruleBadA, true, "cleared")
	})

	t.Run("the same key delivered twice, or the whole prefix re-read", func(t *testing.T) {
		set(t, "twice", "-"+pat(ruleTwice))
		var mu sync.Mutex
		var events []dflag.Event
		stopWatch := dflag.Watch(func(e dflag.Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		})
		defer stopWatch()
		rev := te.Put(p+"twice", "-"+pat(ruleTwice))
		eventually(t, 5*time.Second, "second delivery", func() bool { ks, _ := keyStatus(b, p+"twice"); return ks.Revision == rev })
		proxy.Cut()
		eventually(t, 5*time.Second, "disconnection", func() bool { return !b.Connected() })
		proxy.Restore()
		eventually(t, 5*time.Second, "re-read", b.Connected)
		wantOn(t, ruleTwice, false, "after delivery twice and a re-read")
		mu.Lock()
		n := len(events)
		mu.Unlock()
		if n != 0 {
			t.Errorf("delivery twice and a re-read made %d registry changes: %+v", n, events)
		}
		clear(t, "twice")
		wantOn(t, ruleTwice, true, "cleared")
	})
}
