package dflag

import (
	"fmt"
	"regexp"
	"sync"
	"testing"
)

// benchRecords registers, once, a registry of about 1,300 records (the
// size measured in issue 10 item 11) under kind bench_pair.
var benchRecords = sync.OnceFunc(func() {
	for i := range 1300 {
		f := newFlag(ModeFeature, "bench_pair", fmt.Sprintf("rec_%04d", i), "", "bounded.dev/dflag/bench.go", i+1, 0)
		register(f)
	}
})

// posixMatcher is the matcher before issue 10 item 11: CompilePOSIX of
// ^(pattern), where ^ is the start of a line, so the regexp package has no
// anchored fast path and no literal prefix to skip records with.
func posixMatcher(pattern string) *matcher {
	return &matcher{re: regexp.MustCompilePOSIX("^(" + pattern + ")")}
}

// BenchmarkPatternPair is one Activate and one Deactivate by pattern on a
// registry of about 1,300 records where one record matches: before (posix,
// the old matcher) and after (anchored, what Activate uses now), side by
// side. Target: under 20 µs per pair.
func BenchmarkPatternPair(b *testing.B) {
	benchRecords()
	for _, p := range []string{
		"bench_pair:rec_0042@",       // all literal: a prefix comparison per record
		"bench_pair:rec_004[2]@",     // a literal prefix, then the regexp on ten records
		"bench_pair:rec_0042@.*:43$", // a literal prefix, then the regexp on one record
		"(bench_pair|zzz):rec_0042@", // no literal prefix: the regexp on every record
	} {
		if n, err := Activate(p); n != 1 || err != nil {
			b.Fatalf("Activate(%q) = %d, %v; want 1 record", p, n, err)
		}
		Deactivate(p)
		b.Run("matcher=posix/pattern="+p, func(b *testing.B) {
			m := posixMatcher(p)
			for b.Loop() {
				for _, op := range []Op{OpActivate, OpDeactivate} {
					compile(p) // the cache lookup the old code made too
					reg.mu.Lock()
					ev := controlLocked(op, "", p, m)
					reg.mu.Unlock()
					notify(ev)
				}
			}
		})
		b.Run("matcher=anchored/pattern="+p, func(b *testing.B) {
			for b.Loop() {
				Activate(p)
				Deactivate(p)
			}
		})
	}
}

// BenchmarkHoldCycle is the life of a per-request hold on the same
// registry: NewHold, Replace with one term that selects one record (the
// flag flips on), Release (it flips off).
func BenchmarkHoldCycle(b *testing.B) {
	benchRecords()
	for b.Loop() {
		h, err := NewHold("request:bench")
		if err != nil {
			b.Fatal(err)
		}
		if err := h.Replace("+bench_pair:rec_0042@"); err != nil {
			b.Fatal(err)
		}
		h.Release()
	}
}

// BenchmarkHoldReplaceSame is a remote key delivered again: no change.
func BenchmarkHoldReplaceSame(b *testing.B) {
	benchRecords()
	h, _ := NewHold("etcd:bench")
	defer h.Release()
	h.Replace("+bench_pair:rec_0042@", "-bench_pair:rec_0043@")
	for b.Loop() {
		h.Replace("+bench_pair:rec_0042@", "-bench_pair:rec_0043@")
	}
}
