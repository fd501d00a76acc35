// Package startup is an example of the steady_state phase: a component
// whose locking is advice that single-threaded start-up skips.
//
// A [Registry] is a map guarded by a mutex, but the mutex is only taken
// when the steady_state flag "registry_lock" is on. During start-up, before
// any other goroutine uses the registry, the flag is off (after
// dflag.Init) and loading costs no lock at all. [Start] then calls
// phase.SteadyState.Enter(), which switches the flag on, before it
// starts the worker goroutines; from then on every access locks.
//
// Skipping the lock is safe only because nothing else runs concurrently
// with start-up: the steady state is entered before the first worker
// starts, and go statements order everything before them with the new
// goroutine. Before dflag.Init, Opt flags are on, so a program that never
// calls Init simply always locks.
//
// The skipped lock costs a flag check: [Registry.Set] inlines to the check
// and the map assignment, with the locked path out of line.
// [UnlockedRegistry] (never locks) and [MutexRegistry] (always locks) are
// the same registry without phases, as baselines for the benchmarks.
package startup

import (
	"sync"

	"bounded.dev/dflag"
	"bounded.dev/phase"
)

// locking is the steady_state advice. This package imports dflag, so
// locking.On() inlines (see "When On is inlined" in bounded.dev/dflag/lint).
var locking *dflag.Flag = phase.SteadyState.Kind().Opt("registry_lock",
	"examples/startup Registry mutex: skipped during single-threaded start-up")

// Registry maps names to values; it is safe for concurrent use once the
// program is in its steady state.
type Registry struct {
	mu sync.Mutex
	m  map[string]int
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return NewRegistrySize(0) }

// NewRegistrySize returns an empty registry with room for n names.
func NewRegistrySize(n int) *Registry { return &Registry{m: make(map[string]int, n)} }

// Set sets name's value. With the lock skipped it inlines to a flag check
// and the map assignment; the locked path is out of line.
func (r *Registry) Set(name string, v int) {
	if locking.On() {
		r.setLocked(name, v)
		return
	}
	r.m[name] = v
}

func (r *Registry) setLocked(name string, v int) {
	r.mu.Lock()
	r.m[name] = v
	r.mu.Unlock()
}

// Get returns name's value and whether it is set.
func (r *Registry) Get(name string) (int, bool) {
	if locking.On() {
		return r.getLocked(name)
	}
	v, ok := r.m[name]
	return v, ok
}

func (r *Registry) getLocked(name string) (int, bool) {
	r.mu.Lock()
	v, ok := r.m[name]
	r.mu.Unlock()
	return v, ok
}

// Add adds delta to name's value and returns the new value.
func (r *Registry) Add(name string, delta int) int {
	if locking.On() {
		return r.addLocked(name, delta)
	}
	return r.add(name, delta)
}

func (r *Registry) addLocked(name string, delta int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.add(name, delta)
}

func (r *Registry) add(name string, delta int) int {
	v := r.m[name] + delta
	r.m[name] = v
	return v
}

// Len returns the number of names set.
func (r *Registry) Len() int {
	if locking.On() {
		r.mu.Lock()
		defer r.mu.Unlock()
	}
	return len(r.m)
}

// UnlockedRegistry is [Registry] without a lock: the baseline that
// start-up's skipped lock is measured against. It is not safe for
// concurrent use.
type UnlockedRegistry struct {
	m map[string]int
}

// NewUnlockedRegistrySize returns an empty UnlockedRegistry with room for
// n names.
func NewUnlockedRegistrySize(n int) *UnlockedRegistry {
	return &UnlockedRegistry{m: make(map[string]int, n)}
}

// Set sets name's value.
func (r *UnlockedRegistry) Set(name string, v int) { r.m[name] = v }

// MutexRegistry is [Registry] with a lock taken on every access, start-up
// included: the baseline without phases.
type MutexRegistry struct {
	mu sync.Mutex
	m  map[string]int
}

// NewMutexRegistrySize returns an empty MutexRegistry with room for n
// names.
func NewMutexRegistrySize(n int) *MutexRegistry {
	return &MutexRegistry{m: make(map[string]int, n)}
}

// Set sets name's value under the lock.
func (r *MutexRegistry) Set(name string, v int) {
	r.mu.Lock()
	r.m[name] = v
	r.mu.Unlock()
}

// Start loads the registry on the calling goroutine (start-up: no locks),
// enters the steady state, and only then runs workers, each with the
// registry, on goroutines of their own. It returns the steady-state window
// (a program never exits it; tests do) and a function that waits for the
// workers.
func Start(load func(*Registry), workers ...func(*Registry)) (r *Registry, steady *phase.Window, wait func()) {
	r = NewRegistry()
	load(r)
	steady = phase.SteadyState.Enter() // locks on, before any worker starts
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w(r)
		}()
	}
	return r, steady, wg.Wait
}
