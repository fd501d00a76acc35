package startup

import (
	"strconv"
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

// benchMap is the one map BenchmarkStartup's cases load.
var benchMap = make(map[string]int, len(keys))

// BenchmarkStartup loads 10000 entries into a registry, as start-up does,
// through the same call structure in every case (a Set method per entry on
// a registry built the same way):
//
//   - no_lock: UnlockedRegistry, whose Set is the map assignment alone.
//   - gated_skipped: Registry during start-up (the flag off): the lock skipped.
//   - gated_locked: Registry in the steady state (the flag on): the lock taken.
//   - plain_mutex: MutexRegistry, whose Set always locks.
//
// Every case loads the same map (benchMap, which each iteration empties
// first: clear keeps its buckets), so that allocation, page faults and the
// map's place in memory, which move a 10000-entry load by more than a lock
// costs, are the same for all. ns/op is per load of 10000 entries.
func BenchmarkStartup(b *testing.B) {
	b.Run("no_lock", func(b *testing.B) {
		r := &UnlockedRegistry{m: benchMap}
		for b.Loop() {
			clear(r.m)
			for i, k := range keys {
				r.Set(k, i)
			}
		}
	})
	b.Run("gated_skipped", loadGated)
	b.Run("gated_locked", func(b *testing.B) {
		defer phase.SteadyState.Enter().Exit()
		loadGated(b)
	})
	b.Run("plain_mutex", func(b *testing.B) {
		r := &MutexRegistry{m: benchMap}
		for b.Loop() {
			clear(r.m)
			for i, k := range keys {
				r.Set(k, i)
			}
		}
	})
}

// loadGated is BenchmarkStartup's Registry loop, shared by gated_skipped
// and gated_locked. It is not inlined, so that both run the one compiled
// copy of the loop.
//
//go:noinline
func loadGated(b *testing.B) {
	r := &Registry{m: benchMap}
	for b.Loop() {
		clear(r.m)
		for i, k := range keys {
			r.Set(k, i)
		}
	}
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
		defer phase.SteadyState.Enter().Exit()
		for b.Loop() {
			r.Add("k", 1)
		}
	})
}
