package fleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"bounded.dev/fleet/etcdtest"
)

func TestSnapshotThenWatch(t *testing.T) {
	te := newEtcd(t, nil, false)
	c := countHolds(t)
	cfg, _ := testConfig(t, te.Endpoint())
	p := cfg.Prefix
	te.Put(p+"a", "-breaker:a")
	te.Put(p+"b", "+advice:b !crashy:b")
	te.Put("/elsewhere/c", "+everything:c") // outside the prefix
	b := startBridge(t, cfg)

	if got := termsOf(b, p+"a"); got != "-breaker:a" {
		t.Errorf("snapshot: key a = %q", got)
	}
	if got := termsOf(b, p+"b"); got != "+advice:b !crashy:b" {
		t.Errorf("snapshot: key b = %q", got)
	}
	if ts, ok := c.terms("etcd:" + p + "a"); !ok || strings.Join(ts, " ") != "-breaker:a" {
		t.Errorf("hold etcd:%sa = %q, %v", p, ts, ok)
	}
	if _, ok := keyStatus(b, "/elsewhere/c"); ok {
		t.Error("a key outside the prefix was taken")
	}
	if st := b.Status(); !st.Connected || st.Age != 0 || st.Revision == 0 {
		t.Errorf("status after sync: %+v", st)
	}

	te.Put(p+"c", "+new:c")
	waitTerms(t, b, p+"c", "+new:c")
	te.Put(p+"a", "-breaker:a -breaker:other")
	waitTerms(t, b, p+"a", "-breaker:a -breaker:other")
	te.Delete(p + "b")
	waitTerms(t, b, p+"b", "<none>")
	if _, ok := c.terms("etcd:" + p + "b"); ok {
		t.Error("deleted key's hold is still live")
	}
	// A multi-line value in DFLAG_FILE's syntax.
	te.Put(p+"d", "# breakers for the payment path\n-breaker:pay\n\n!crashy:pay\n")
	waitTerms(t, b, p+"d", "-breaker:pay !crashy:pay")

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(c.live); n != 0 {
		t.Errorf("after Close %d holds are live: %v", n, c.live)
	}
}

func TestMalformedValueRefused(t *testing.T) {
	te := newEtcd(t, nil, false)
	countHolds(t)
	cfg, lg := testConfig(t, te.Endpoint())
	p := cfg.Prefix
	te.Put(p+"a", "-breaker:a")
	te.Put(p+"b", "+advice:b")
	b := startBridge(t, cfg)

	for _, bad := range []string{
		"-breaker:(",        // invalid regular expression
		"breaker:a",         // no operator
		`+"unterminated`,    // bad quoting
		"?breaker:a",        // rehook: takes away another owner's unhook
		"-",                 // empty pattern: every flag
		"+.*",               // matches every flag
		"!^",                // likewise
		"-breaker:a -(x|)*", // one bad term refuses the whole value
	} {
		te.Put(p+"a", bad)
		eventually(t, 5*time.Second, "refusal of "+bad, func() bool {
			ks, _ := keyStatus(b, p+"a")
			return ks.Refused == bad
		})
		ks, _ := keyStatus(b, p+"a")
		if strings.Join(ks.Terms, " ") != "-breaker:a" {
			t.Errorf("after %q the key's terms are %q, want the last valid ones", bad, ks.Terms)
		}
		if !strings.Contains(ks.Error, "refused") {
			t.Errorf("after %q: error %q", bad, ks.Error)
		}
	}
	if !strings.Contains(lg.String(), "refused") || !strings.Contains(lg.String(), "every flag") {
		t.Errorf("refusals not logged:\n%s", lg)
	}
	// Other keys are unaffected and still follow etcd.
	te.Put(p+"b", "+advice:b2")
	waitTerms(t, b, p+"b", "+advice:b2")
	// A valid value clears the refusal.
	te.Put(p+"a", "-breaker:a3")
	waitTerms(t, b, p+"a", "-breaker:a3")
	if ks, _ := keyStatus(b, p+"a"); ks.Error != "" || ks.Refused != "" {
		t.Errorf("refusal not cleared: %+v", ks)
	}
	// A key malformed from the start holds nothing, and is reported.
	te.Put(p+"c", "nonsense")
	eventually(t, 5*time.Second, "refusal of a new key", func() bool {
		ks, ok := keyStatus(b, p+"c")
		return ok && ks.Error != "" && len(ks.Terms) == 0
	})
}

func TestMatchAllAllowedExplicitly(t *testing.T) {
	te := newEtcd(t, nil, false)
	countHolds(t)
	cfg, _ := testConfig(t, te.Endpoint())
	cfg.AllowMatchAll = true
	te.Put(cfg.Prefix+"all", "-")
	b := startBridge(t, cfg)
	if got := termsOf(b, cfg.Prefix+"all"); got != "-" {
		t.Errorf("with AllowMatchAll: %q", got)
	}
}

func TestRepeatAndRereadChangeNothing(t *testing.T) {
	te := newEtcd(t, nil, false)
	proxy := etcdtest.NewProxy(t, te.Endpoint())
	c := countHolds(t)
	cfg, _ := testConfig(t, proxy.Addr())
	p := cfg.Prefix
	te.Put(p+"a", "-breaker:a")
	b := startBridge(t, cfg)
	r0, l0 := c.counts()

	// The same value written again is a new revision, delivered again.
	rev := te.Put(p+"a", "-breaker:a")
	eventually(t, 5*time.Second, "revision of the repeated put", func() bool {
		ks, _ := keyStatus(b, p+"a")
		return ks.Revision == rev
	})
	// A re-read of the whole prefix (every reconnection does one).
	proxy.Cut()
	eventually(t, 5*time.Second, "disconnection", func() bool { return !b.Connected() })
	proxy.Restore()
	eventually(t, 5*time.Second, "reconnection", func() bool { return b.Connected() })
	if r, l := c.counts(); r != r0 || l != l0 {
		t.Errorf("repeat and re-read: Replace calls %d -> %d, Release calls %d -> %d; want no change", r0, r, l0, l)
	}
}

func TestOutageKeepsStateThenCatchesUp(t *testing.T) {
	te := newEtcd(t, nil, false)
	proxy := etcdtest.NewProxy(t, te.Endpoint())
	countHolds(t)
	cfg, lg := testConfig(t, proxy.Addr())
	p := cfg.Prefix
	te.Put(p+"a", "-breaker:a")
	b := startBridge(t, cfg)

	// etcd becomes unreachable, then is stopped for real.
	proxy.Cut()
	lost := eventually(t, 5*time.Second, "disconnection", func() bool { return !b.Connected() })
	t.Logf("outage noticed after %v", lost)
	te.Stop()
	time.Sleep(1500 * time.Millisecond)
	st := b.Status()
	if st.Connected || st.Age < time.Second || st.LastError == "" {
		t.Errorf("during the outage: %+v", st)
	}
	if got := termsOf(b, p+"a"); got != "-breaker:a" {
		t.Errorf("during the outage the key's terms are %q, want the last state", got)
	}
	if !strings.Contains(lg.String(), "keeping the last state") {
		t.Errorf("outage not logged:\n%s", lg)
	}

	// etcd comes back with a changed key.
	te.Restart()
	te.Put(p+"a", "-breaker:a -breaker:b")
	te.Put(p+"new", "+advice:x")
	back := time.Now()
	proxy.Restore()
	waitTerms(t, b, p+"a", "-breaker:a -breaker:b")
	waitTerms(t, b, p+"new", "+advice:x")
	d := time.Since(back)
	t.Logf("change made during the outage arrived %v after etcd's return", d)
	eventually(t, 5*time.Second, "reconnection", b.Connected)
	if d > 2500*time.Millisecond {
		t.Errorf("change arrived %v after etcd's return, want within ~2s", d)
	}
	if st := b.Status(); !st.Connected || st.Age != 0 {
		t.Errorf("after the outage: %+v", st)
	}
}

func TestWipedClusterReleasesHolds(t *testing.T) {
	te := newEtcd(t, nil, false)
	proxy := etcdtest.NewProxy(t, te.Endpoint())
	c := countHolds(t)
	cfg, lg := testConfig(t, proxy.Addr())
	p := cfg.Prefix
	for _, k := range []string{"a", "b", "c"} {
		te.Put(p+k, "-breaker:"+k)
	}
	b := startBridge(t, cfg)

	proxy.Cut()
	te.Stop()
	te.Wipe()
	te.Restart()
	te.Put(p+"b", "-breaker:b") // the wiped cluster has one key again, at a lower revision
	proxy.Restore()
	// Converging takes a reconnection and a re-read; on a loaded machine
	// (CI runs every package's tests at once on two cores) a read that
	// began while the proxy was cut can wait out its DialTimeout first, so
	// this wait is longer than waitTerms' 5 s.
	for _, k := range []string{"a", "c"} {
		eventually(t, 15*time.Second, fmt.Sprintf("key %s: terms %q after the wipe, want none", p+k, termsOf(b, p+k)), func() bool {
			return termsOf(b, p+k) == "<none>"
		})
	}
	if got := termsOf(b, p+"b"); got != "-breaker:b" {
		t.Errorf("key b = %q", got)
	}
	if _, ok := c.terms("etcd:" + p + "a"); ok {
		t.Error("key a's hold survived the wipe")
	}
	if !strings.Contains(lg.String(), "went backwards") {
		t.Errorf("revision going backwards not logged:\n%s", lg)
	}
	// And the bridge follows the new cluster.
	te.Put(p+"d", "+advice:d")
	waitTerms(t, b, p+"d", "+advice:d")
}

func TestCompactedHistoryRereads(t *testing.T) {
	te := newEtcd(t, nil, false)
	countHolds(t)
	cfg, lg := testConfig(t, te.Endpoint())
	p := cfg.Prefix
	te.Put(p+"a", "-breaker:a")
	te.Put(p+"b", "-breaker:b")
	// Between the first read and its watch, the key changes and history
	// is compacted past the read: the watch must fail and the bridge
	// re-read.
	first := true
	testHookBeforeWatch = func(rev int64) {
		if !first {
			return
		}
		first = false
		te.Put(p+"a", "-breaker:a2")
		te.Delete(p + "b")
		r := te.Put("/unrelated", "x")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := te.Client().Compact(ctx, r, clientv3.WithCompactPhysical()); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(func() { testHookBeforeWatch = nil }) // after the bridge's Close
	b := startBridge(t, cfg)
	waitTerms(t, b, p+"a", "-breaker:a2")
	waitTerms(t, b, p+"b", "<none>")
	if !strings.Contains(lg.String(), "compacted") {
		t.Errorf("compaction not logged:\n%s", lg)
	}
}

func TestStateFileKeepsStateAcrossRestart(t *testing.T) {
	te := newEtcd(t, nil, false)
	proxy := etcdtest.NewProxy(t, te.Endpoint())
	c := countHolds(t)
	cfg, _ := testConfig(t, proxy.Addr())
	cfg.StateFile = filepath.Join(t.TempDir(), "fleet.json")
	p := cfg.Prefix
	te.Put(p+"pay", "-breaker:pay")
	te.Put(p+"bad", "nonsense") // refused values are not kept
	b := startBridge(t, cfg)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(cfg.StateFile)
	if err != nil || !strings.Contains(string(data), "-breaker:pay") || strings.Contains(string(data), "nonsense") {
		t.Fatalf("state file: %s, %v", data, err)
	}

	// Restart during an outage: the tripped breaker is in force at once.
	proxy.Cut()
	b2, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if ts, ok := c.terms("etcd:" + p + "pay"); !ok || strings.Join(ts, " ") != "-breaker:pay" {
		t.Errorf("after a restart during an outage the hold is %q, %v", ts, ok)
	}
	if st := b2.Status(); st.Connected || !st.FromFile || st.LastSync.IsZero() || st.Age <= 0 {
		t.Errorf("status from the state file: %+v", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err = b2.WaitSynced(ctx)
	cancel()
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitSynced during the outage: %v", err)
	}

	// etcd cleared the breaker meanwhile: the bridge converges on return.
	te.Delete(p + "pay")
	proxy.Restore()
	waitTerms(t, b2, p+"pay", "<none>")
	eventually(t, 5*time.Second, "reconnection", b2.Connected)
	if st := b2.Status(); !st.Connected || st.FromFile {
		t.Errorf("status after the outage: %+v", st)
	}

	// A corrupt state file is reported and ignored.
	b2.Close()
	os.WriteFile(cfg.StateFile, []byte("{not json"), 0o600)
	cfg3, lg := testConfig(t, proxy.Addr())
	cfg3.Prefix, cfg3.StateFile = cfg.Prefix, cfg.StateFile
	b3 := startBridge(t, cfg3)
	if !strings.Contains(lg.String(), "ignoring the state file") {
		t.Errorf("corrupt state file not reported:\n%s", lg)
	}
	b3.Close()
}

func TestOneEndpointDownOfTwo(t *testing.T) {
	te := newEtcd(t, nil, false)
	proxy := etcdtest.NewProxy(t, te.Endpoint())
	countHolds(t)
	dead := etcdtest.NewProxy(t, te.Endpoint())
	dead.Cut() // an endpoint that refuses connections
	cfg, _ := testConfig(t, dead.Addr())
	cfg.Endpoints = append(cfg.Endpoints, proxy.Addr())
	te.Put(cfg.Prefix+"a", "-breaker:two")
	b := startBridge(t, cfg)
	te.Put(cfg.Prefix+"a", "-breaker:two2")
	waitTerms(t, b, cfg.Prefix+"a", "-breaker:two2")
	time.Sleep(500 * time.Millisecond)
	if !b.Connected() {
		t.Errorf("one dead endpoint of two: %+v", b.Status())
	}
	// Then the live one goes and the other comes: the bridge moves over.
	dead.Restore()
	proxy.Cut()
	te.Put(cfg.Prefix+"a", "-breaker:two3")
	waitTerms(t, b, cfg.Prefix+"a", "-breaker:two3")
	eventually(t, 5*time.Second, "reconnection through the other endpoint", b.Connected)
}
