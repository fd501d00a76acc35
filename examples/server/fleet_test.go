package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bounded.dev/dflag/admin"
	"bounded.dev/fleet"
	"bounded.dev/fleet/etcdtest"
)

// instance is one example server, a real process built by buildServer,
// following etcd.
type instance struct {
	name   string
	cmd    *exec.Cmd
	base   string
	stderr *syncBuffer
	done   chan error // the process's exit
}

// childEnv is the test's environment without anything that would change
// the servers' flags or telemetry: no DFLAG*, no OTEL_*.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "DFLAG") && !strings.HasPrefix(k, "OTEL_") {
			env = append(env, kv)
		}
	}
	return env
}

func startInstance(t *testing.T, exe, name string, args ...string) *instance {
	t.Helper()
	in := &instance{name: name, stderr: &syncBuffer{}, done: make(chan error, 1)}
	in.cmd = exec.Command(exe, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	in.cmd.Env = childEnv()
	in.cmd.Stderr = in.stderr
	stdout, err := in.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { in.done <- in.cmd.Wait() }()
	t.Cleanup(func() {
		in.cmd.Process.Kill() // if stop was not reached
		if t.Failed() {
			t.Logf("%s log:\n%s", in.name, in.stderr.String())
		}
	})
	in.base, _ = waitBase(t, stdout)
	return in
}

// stop sends SIGINT: the server drains, closes its bridge and exits 0.
func (in *instance) stop(t *testing.T) {
	t.Helper()
	if err := in.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("%s exit: %v", in.name, err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("%s: no exit 20s after SIGINT", in.name)
	}
	if !strings.Contains(in.stderr.String(), "shutting down") {
		t.Errorf("%s log lacks the shutdown:\n%s", in.name, in.stderr.String())
	}
}

// flagState is one flag as the console's JSON listing shows it.
type flagState struct {
	On     bool `json:"on"`
	Owners []struct {
		Name  string   `json:"name"`
		Terms []string `json:"terms"`
	} `json:"owners"`
}

func (f flagState) owned(owner string) bool {
	return slices.ContainsFunc(f.Owners, func(o struct {
		Name  string   `json:"name"`
		Terms []string `json:"terms"`
	}) bool {
		return o.Name == owner
	})
}

func (f flagState) String() string {
	var names []string
	for _, o := range f.Owners {
		names = append(names, o.Name+fmt.Sprint(o.Terms))
	}
	return fmt.Sprintf("on=%v owners=%v", f.On, names)
}

var pollClient = &http.Client{Timeout: 5 * time.Second}

// flag reads the declaration name (kind:name) from the console's JSON.
func (in *instance) flag(name string) (flagState, error) {
	req, _ := http.NewRequest("GET", in.base+"/debug/dflag/flags?pattern="+url.QueryEscape("^"+name+"@"), nil)
	req.Header.Set("Accept", "application/json")
	resp, err := pollClient.Do(req)
	if err != nil {
		return flagState{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return flagState{}, fmt.Errorf("console: %s", resp.Status)
	}
	var fs []flagState
	if err := json.NewDecoder(resp.Body).Decode(&fs); err != nil {
		return flagState{}, fmt.Errorf("console JSON: %v", err)
	}
	if len(fs) != 1 {
		return flagState{}, fmt.Errorf("console lists %d flags for %s", len(fs), name)
	}
	return fs[0], nil
}

// waitFlag polls the console of every instance at once until cond holds
// for name, and returns when each saw it. It polls gently: the console
// limits listings to 10 a second (bursts of 30) per client.
func waitFlag(t *testing.T, ins []*instance, name, want string, cond func(flagState) bool) []time.Time {
	t.Helper()
	seen := make([]time.Time, len(ins))
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Go(func() {
			deadline := time.Now().Add(10 * time.Second)
			var last flagState
			for time.Now().Before(deadline) {
				f, err := in.flag(name)
				if err == nil && cond(f) {
					seen[i] = time.Now()
					return
				}
				last = f
				if err != nil {
					errs[i] = err
				}
				time.Sleep(50 * time.Millisecond)
			}
			errs[i] = fmt.Errorf("%s: %s is %v after 10s, want %s (last error: %v)", in.name, name, last, want, errs[i])
		})
	}
	wg.Wait()
	for i := range ins {
		if seen[i].IsZero() {
			t.Fatal(errs[i])
		}
	}
	return seen
}

// tripped and cleared are the breaker's two states as the fleet key sets them.
func tripped(owner string) func(flagState) bool {
	return func(f flagState) bool { return !f.On && f.owned(owner) }
}

func cleared(owner string) func(flagState) bool {
	return func(f flagState) bool { return f.On && !f.owned(owner) }
}

// degraded reports whether an item response goes without recommendations,
// marked X-Degraded.
func (in *instance) degraded(t *testing.T) bool {
	t.Helper()
	resp, body := get(t, in.base+"/items/7")
	d := resp.Header.Get("X-Degraded") == "recommendations"
	if recs := strings.Contains(body, `"recommendations":[`); recs == d {
		t.Fatalf("%s: X-Degraded %q with body %s", in.name, resp.Header.Get("X-Degraded"), body)
	}
	return d
}

// status reads /debug/fleet.
func (in *instance) status(t *testing.T) fleet.Status {
	t.Helper()
	resp, body := get(t, in.base+"/debug/fleet")
	var st fleet.Status
	if resp.StatusCode != 200 {
		t.Fatalf("%s /debug/fleet: %s %s", in.name, resp.Status, body)
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("%s /debug/fleet: %v: %s", in.name, err, body)
	}
	return st
}

// waitRevision polls /debug/fleet of every instance at once until its
// state is at etcd revision rev or later (the bridge has applied every
// change up to it), and returns when each saw it.
func waitRevision(t *testing.T, ins []*instance, rev int64) []time.Time {
	t.Helper()
	seen := make([]time.Time, len(ins))
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Go(func() {
			deadline := time.Now().Add(10 * time.Second)
			var st fleet.Status
			for time.Now().Before(deadline) {
				resp, err := pollClient.Get(in.base + "/debug/fleet")
				if err == nil {
					st = fleet.Status{}
					err = json.NewDecoder(resp.Body).Decode(&st)
					resp.Body.Close()
				}
				if err == nil && st.Revision >= rev {
					seen[i] = time.Now()
					return
				}
				errs[i] = err
				time.Sleep(time.Millisecond)
			}
			errs[i] = fmt.Errorf("%s: /debug/fleet at revision %d after 10s, want %d (last error: %v)", in.name, st.Revision, rev, errs[i])
		})
	}
	wg.Wait()
	for i := range ins {
		if seen[i].IsZero() {
			t.Fatal(errs[i])
		}
	}
	return seen
}

// waitStatus polls /debug/fleet until cond holds.
func (in *instance) waitStatus(t *testing.T, want string, cond func(fleet.Status) bool) fleet.Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := in.status(t)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s /debug/fleet after 10s: %+v, want %s", in.name, st, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// consoleFleet reads the console's status "fleet" (GET
// /debug/dflag/status, as the console's status panel does).
func (in *instance) consoleFleet(t *testing.T) fleetPanel {
	t.Helper()
	req, _ := http.NewRequest("GET", in.base+"/debug/dflag/status", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := pollClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st admin.Statuses
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s /debug/dflag/status: %s, %v", in.name, resp.Status, err)
	}
	var p fleetPanel
	if err := json.Unmarshal(st.Status["fleet"], &p); err != nil {
		t.Fatalf("%s /debug/dflag/status has no fleet status: %+v (%v)", in.name, st, err)
	}
	return p
}

func keyStatus(st fleet.Status, key string) (fleet.KeyStatus, bool) {
	for _, k := range st.Keys {
		if k.Key == key {
			return k, true
		}
	}
	return fleet.KeyStatus{}, false
}

func percentile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// TestFleetThreeServers is issue 13's "done when": three real example
// servers and one real etcd (embedded in the test) on loopback. A key
// written in etcd reaches all three (the propagation latency is logged);
// the fleet trips and clears the Default breaker, which responses show;
// an operator's local trip survives the fleet's trip and clear; malformed
// values are refused and reported while the last valid terms stay; etcd
// stopped for seconds and restarted with a changed key converges, and the
// staleness shows in /debug/fleet, the console's status (connected=false,
// a growing age) and /metrics meanwhile.
func TestFleetThreeServers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command, starts three servers and an etcd")
	}
	if runtime.GOOS == "windows" {
		t.Skip("stops the servers with SIGINT")
	}
	exe := buildServer(t)
	te := newEtcd(t)
	proxy := etcdtest.NewProxy(t, te.Endpoint()) // the servers reach etcd through it
	const prefix = "/dflag/"
	const (
		breaker = "breaker:recommendations"
		cache   = "request_tracing:catalogue_cache"
		lookup  = "request_tracing:catalogue_lookup"
		keyB    = prefix + "breakers"
		keyT    = prefix + "tracing"
		keyAll  = prefix + "everything"
		ownerB  = "etcd:" + keyB
		ownerT  = "etcd:" + keyT
	)
	te.Put(keyB, "-"+breaker) // tripped before the servers start: the snapshot

	ins := make([]*instance, 3)
	for i := range ins {
		ins[i] = startInstance(t, exe, fmt.Sprintf("server %d", i), "-etcd", proxy.Addr(), "-etcd-prefix", prefix)
	}
	waitFlag(t, ins, breaker, "tripped by "+ownerB, tripped(ownerB))
	for _, in := range ins {
		st := in.status(t)
		if k, ok := keyStatus(st, keyB); !st.Connected || st.Prefix != prefix || !ok || k.Owner != ownerB ||
			!slices.Equal(k.Terms, []string{"-" + breaker}) {
			t.Fatalf("%s /debug/fleet: %+v", in.name, st)
		}
		if !in.degraded(t) {
			t.Fatalf("%s serves recommendations while the fleet has tripped the breaker", in.name)
		}
		if p := in.consoleFleet(t); !p.Connected || p.Age != 0 || p.LastError != "" || p.LastSync != "" ||
			p.Keys != 1 || p.Refused != 0 || p.Prefix != prefix || p.Revision != st.Revision {
			t.Fatalf("%s console status while connected: %+v (/debug/fleet %+v)", in.name, p, st)
		}
		m := scrape(t, in.base)
		if sum(m["dflag_fleet_connected"], "dflag_fleet_prefix="+prefix) != 1 || len(m["dflag_fleet_sync_age_seconds"]) != 1 ||
			sum(m["dflag_fleet_keys"]) != 1 {
			t.Fatalf("%s /metrics: connected %v, sync age %v, keys %v", in.name,
				m["dflag_fleet_connected"], m["dflag_fleet_sync_age_seconds"], m["dflag_fleet_keys"])
		}
		// /debug/fleet is guarded as the console is.
		req, _ := http.NewRequest("GET", in.base+"/debug/fleet", nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%s /debug/fleet for a proxied client: %s, want 403", in.name, resp.Status)
		}
	}

	// Propagation: from just before etcd's put or delete to each server's
	// /debug/fleet reporting that revision applied, 20 changes; then each
	// server's console shows the breaker's state and owner.
	var lat []time.Duration
	for i := range 20 {
		t0 := time.Now()
		if i%2 == 0 {
			rev := te.Delete(keyB)
			for _, s := range waitRevision(t, ins, rev) {
				lat = append(lat, s.Sub(t0))
			}
			waitFlag(t, ins, breaker, "on, not held by "+ownerB, cleared(ownerB))
		} else {
			rev := te.Put(keyB, "-"+breaker)
			for _, s := range waitRevision(t, ins, rev) {
				lat = append(lat, s.Sub(t0))
			}
			waitFlag(t, ins, breaker, "tripped by "+ownerB, tripped(ownerB))
		}
	}
	t.Logf("propagation etcd -> each server's bridge (/debug/fleet), %d changes x %d servers: p50 %v, p90 %v, max %v",
		len(lat)/len(ins), len(ins), percentile(lat, .5), percentile(lat, .9), percentile(lat, 1))

	// The 20th change tripped the breaker; deleting the key clears it.
	for _, in := range ins {
		if !in.degraded(t) {
			t.Fatalf("%s serves recommendations while the fleet has tripped the breaker", in.name)
		}
	}
	te.Delete(keyB)
	waitFlag(t, ins, breaker, "on", cleared(ownerB))
	for _, in := range ins {
		if in.degraded(t) {
			t.Fatalf("%s still degraded after the fleet key was deleted", in.name)
		}
	}

	// An operator trips the breaker locally on server 0; the fleet trips
	// it everywhere and clears it: server 0 stays tripped.
	const operator = "console:127.0.0.1"
	console(t, ins[0].base, "deactivate", breaker+"@")
	te.Put(keyB, "-"+breaker)
	waitFlag(t, ins, breaker, "tripped by "+ownerB, tripped(ownerB))
	te.Delete(keyB)
	waitFlag(t, ins[1:], breaker, "on", cleared(ownerB))
	waitFlag(t, ins[:1], breaker, "off, held by the operator only", func(f flagState) bool {
		return !f.On && f.owned(operator) && !f.owned(ownerB)
	})
	if !ins[0].degraded(t) || ins[1].degraded(t) || ins[2].degraded(t) {
		t.Fatal("after the fleet's clear, only server 0 (tripped by its operator) should be degraded")
	}
	console(t, ins[0].base, "activate", breaker+"@") // undoes the operator's own trip
	waitFlag(t, ins[:1], breaker, "on", func(f flagState) bool { return f.On && len(f.Owners) == 0 })

	// Malformed values are refused and reported; the key's last valid
	// terms stay, and other keys are unaffected.
	te.Put(keyB, "-"+breaker)
	te.Put(keyT, "-"+lookup)
	waitFlag(t, ins, breaker, "tripped by "+ownerB, tripped(ownerB))
	waitFlag(t, ins, lookup, "held off by "+ownerT, func(f flagState) bool { return !f.On && f.owned(ownerT) })
	te.Put(keyB, "-breaker:(")
	te.Put(keyAll, "-") // matches every flag: refused without -etcd-allow-match-all
	for _, in := range ins {
		st := in.waitStatus(t, keyB+" and "+keyAll+" refused", func(st fleet.Status) bool {
			b, okB := keyStatus(st, keyB)
			a, okA := keyStatus(st, keyAll)
			return okB && b.Refused == "-breaker:(" && b.Error != "" && okA && a.Refused == "-" && a.Error != ""
		})
		if b, _ := keyStatus(st, keyB); !slices.Equal(b.Terms, []string{"-" + breaker}) {
			t.Errorf("%s: %s's terms in force %q after a refused value, want the last valid ones", in.name, keyB, b.Terms)
		}
		if a, _ := keyStatus(st, keyAll); len(a.Terms) != 0 {
			t.Errorf("%s: refused %s has terms in force %q", in.name, keyAll, a.Terms)
		}
		if m := scrape(t, in.base); sum(m["dflag_fleet_refused_total"]) < 2 {
			t.Errorf("%s: dflag_fleet_refused_total %v, want 2", in.name, m["dflag_fleet_refused_total"])
		}
		if !in.degraded(t) {
			t.Errorf("%s: the breaker came back on after a malformed value", in.name)
		}
		if !strings.Contains(in.stderr.String(), keyB) || !strings.Contains(in.stderr.String(), "-breaker:(") {
			t.Errorf("%s: the refusal is not in the log:\n%s", in.name, in.stderr.String())
		}
	}
	waitFlag(t, ins, lookup, "still held off by "+ownerT, func(f flagState) bool { return !f.On && f.owned(ownerT) })
	if f, err := ins[0].flag(cache); err != nil || f.On || len(f.Owners) != 0 {
		t.Fatalf("the refused match-all key changed %s: %v %v", cache, f, err)
	}

	// etcd stops for several seconds: each server keeps the last state
	// and says how stale it is.
	proxy.Cut()
	te.Stop()
	for _, in := range ins {
		in.waitStatus(t, "disconnected", func(st fleet.Status) bool { return !st.Connected })
	}
	early := make([]fleetPanel, len(ins))
	for i, in := range ins {
		early[i] = in.consoleFleet(t)
	}
	const outage = 3 * time.Second
	time.Sleep(outage)
	for i, in := range ins {
		st := in.status(t)
		if st.Connected || st.Age < outage || st.LastError == "" {
			t.Errorf("%s /debug/fleet during the outage: %+v", in.name, st)
		}
		// The console says so too, with an age that grows.
		if p := in.consoleFleet(t); p.Connected || p.Age < outage.Seconds()-0.05 || p.Age < early[i].Age+outage.Seconds()-0.1 ||
			p.LastError == "" || p.LastSync == "" || p.Keys != 3 || p.Refused != 2 {
			t.Errorf("%s console status during the outage: %+v (%v earlier: %+v)", in.name, p, outage, early[i])
		}
		m := scrape(t, in.base)
		if c, age := sum(m["dflag_fleet_connected"]), sum(m["dflag_fleet_sync_age_seconds"]); c != 0 || age < outage.Seconds() {
			t.Errorf("%s /metrics during the outage: connected %v, sync age %vs", in.name, c, age)
		}
		if !in.degraded(t) {
			t.Errorf("%s: the tripped breaker came back on during the outage", in.name)
		}
	}
	waitFlag(t, ins, breaker, "still tripped by "+ownerB, tripped(ownerB))

	// etcd comes back with changed keys: the breaker's key now holds a
	// trace flag off instead, the other keys are gone.
	te.Restart()
	te.Put(keyB, "-"+cache)
	te.Delete(keyT)
	rev := te.Delete(keyAll)
	back := time.Now()
	proxy.Restore()
	var catchUp []time.Duration
	for _, s := range waitRevision(t, ins, rev) {
		catchUp = append(catchUp, s.Sub(back).Round(time.Millisecond))
	}
	waitFlag(t, ins, breaker, "on again", cleared(ownerB))
	waitFlag(t, ins, cache, "held off by "+ownerB, func(f flagState) bool { return !f.On && f.owned(ownerB) })
	waitFlag(t, ins, lookup, "released", func(f flagState) bool { return !f.owned(ownerT) })
	for _, in := range ins {
		st := in.waitStatus(t, "connected", func(st fleet.Status) bool { return st.Connected })
		if _, ok := keyStatus(st, keyAll); ok || len(st.Keys) != 1 {
			t.Errorf("%s /debug/fleet after the outage: %+v, want only %s", in.name, st, keyB)
		}
		if p := in.consoleFleet(t); !p.Connected || p.Age != 0 || p.LastSync != "" || p.Keys != 1 || p.Refused != 0 {
			t.Errorf("%s console status after the outage: %+v", in.name, p)
		}
		if in.degraded(t) {
			t.Errorf("%s still degraded after etcd came back with the breaker cleared", in.name)
		}
	}
	t.Logf("after a %v outage, etcd's changed keys reached the servers %v after it was reachable again", outage, catchUp)
	if m := slices.Max(catchUp); m > 3*time.Second {
		t.Errorf("catch-up after the outage took %v, want within about 2s", m)
	}

	// The servers shut down cleanly (closing their bridges) before etcd
	// stops.
	for _, in := range ins {
		in.stop(t)
	}
}
