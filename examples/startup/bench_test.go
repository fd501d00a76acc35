package startup

import (
	"strconv"
	"sync"
	"testing"

	"bounded.dev/phase"
)

var keys = func() []string {
	k := make([]string, 10000)
	for i := range k {
		k[i] = "key" + strconv.Itoa(i)
	}
	return k
}()

// BenchmarkStartup loads 10000 entries into a registry, as start-up does:
// with the gated lock skipped (start-up, the flag off), with the gated lock
// taken (steady state, the flag on), with a plain mutex and with no lock at
// all. Each iteration empties the same map first (clear keeps its buckets),
// so that allocation and page faults do not drown the locks. ns/op is per
// load of 10000 entries.
func BenchmarkStartup(b *testing.B) {
	load := func(b *testing.B) {
		r := NewRegistrySize(len(keys))
		for b.Loop() {
			clear(r.m)
			for i, k := range keys {
				r.Set(k, i)
			}
		}
	}
	b.Run("gated_skipped", load)
	b.Run("gated_locked", func(b *testing.B) {
		defer phase.Enter(phase.SteadyState).Exit()
		load(b)
	})
	b.Run("plain_mutex", func(b *testing.B) {
		var mu sync.Mutex
		m := make(map[string]int, len(keys))
		for b.Loop() {
			clear(m)
			for i, k := range keys {
				mu.Lock()
				m[k] = i
				mu.Unlock()
			}
		}
	})
	b.Run("no_lock", func(b *testing.B) {
		m := make(map[string]int, len(keys))
		for b.Loop() {
			clear(m)
			for i, k := range keys {
				m[k] = i
			}
		}
	})
}

// BenchmarkAdd is one update of an existing entry, the operation where the
// lock is the largest share of the cost.
func BenchmarkAdd(b *testing.B) {
	r := NewRegistry()
	r.Set("k", 0)
	b.Run("gated_skipped", func(b *testing.B) {
		for b.Loop() {
			r.Add("k", 1)
		}
	})
	b.Run("gated_locked", func(b *testing.B) {
		defer phase.Enter(phase.SteadyState).Exit()
		for b.Loop() {
			r.Add("k", 1)
		}
	})
}
