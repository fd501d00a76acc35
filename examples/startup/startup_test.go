package startup

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/phase"
)

func TestMain(m *testing.M) {
	os.Unsetenv("DFLAG")
	os.Unsetenv("DFLAG_FILE")
	if err := dflag.Init(); err != nil {
		fmt.Fprintln(os.Stderr, "Init:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// TestStartUpSkipsTheLock: before the steady state, the registry takes no
// lock: with the mutex held elsewhere, Set and Get still complete.
func TestStartUpSkipsTheLock(t *testing.T) {
	if locking.On() {
		t.Fatal("locking on before the steady state")
	}
	r := NewRegistry()
	r.mu.Lock() // would block a locking Set forever
	defer r.mu.Unlock()
	for i := range 1000 {
		r.Set(strconv.Itoa(i), i)
	}
	if v, ok := r.Get("999"); !ok || v != 999 || r.Len() != 1000 || r.Add("1", 1) != 2 {
		t.Fatal("start-up accesses lost writes")
	}
}

// TestSteadyStateLocks: after phase.SteadyState.Enter(), every access
// takes the lock: with the mutex held, Set waits; and concurrent workers
// are race-free (run with -race).
func TestSteadyStateLocks(t *testing.T) {
	r, steady, wait := Start(func(r *Registry) {
		if locking.On() {
			t.Error("locking on during start-up")
		}
		for i := range 100 {
			r.Set(strconv.Itoa(i), 0)
		}
	})
	defer steady.Exit() // a program stays in its steady state; tests leave it
	wait()
	if !locking.On() {
		t.Fatal("locking off in the steady state")
	}

	r.mu.Lock()
	done := make(chan struct{})
	go func() {
		r.Set("blocked", 1)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("Set did not take the lock in the steady state")
	case <-time.After(30 * time.Millisecond):
	}
	r.mu.Unlock()
	<-done

	// Workers started after Enter share the registry safely.
	const workers, adds = 4, 1000
	fns := make([]func(*Registry), workers)
	for w := range fns {
		fns[w] = func(r *Registry) {
			for i := range adds {
				r.Add(strconv.Itoa(i%100), 1)
				r.Get(strconv.Itoa(i % 100))
			}
		}
	}
	r2, steady2, wait2 := Start(func(r *Registry) {
		for i := range 100 {
			r.Set(strconv.Itoa(i), 0)
		}
	}, fns...)
	defer steady2.Exit()
	wait2()
	total := 0
	for i := range 100 {
		v, _ := r2.Get(strconv.Itoa(i))
		total += v
	}
	if total != workers*adds {
		t.Fatalf("lost updates: %d, want %d", total, workers*adds)
	}
}

// TestExitingTheSteadyStateSkipsLocksAgain is for tests only: once every
// steady-state window exits, the advice is off again.
func TestExitingTheSteadyStateSkipsLocksAgain(t *testing.T) {
	w := phase.SteadyState.Enter()
	if !locking.On() {
		t.Fatal("off in the window")
	}
	w.Exit()
	if locking.On() {
		t.Fatal("on after the window")
	}
}

// TestSetInlinesLikeTheBaseline: the gated Set inlines (a flag check and the
// map assignment, the locked path out of line), as the unlocked baseline's
// does, so that BenchmarkStartup compares the lock and not calling
// conventions. Set is at the inliner's budget: this test says when a
// change pushes it over.
func TestSetInlinesLikeTheBaseline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package with the compiler's -m report")
	}
	gotool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gotool); err != nil {
		t.Skipf("no go command at %s: %v", gotool, err)
	}
	out, err := exec.Command(gotool, "build", "-gcflags=-m", "-o", os.DevNull, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	for _, fn := range []string{"(*Registry).Set", "(*UnlockedRegistry).Set"} {
		if !regexp.MustCompile(`(?m): can inline ` + regexp.QuoteMeta(fn) + `( |$)`).Match(out) {
			t.Errorf("%s does not inline:\n%s", fn, out)
		}
	}
}

// TestBaselines: the benchmark's baseline registries store what they are
// given, and MutexRegistry takes its lock.
func TestBaselines(t *testing.T) {
	u, m := NewUnlockedRegistrySize(1), NewMutexRegistrySize(1)
	u.Set("a", 1)
	m.Set("a", 2)
	if u.m["a"] != 1 || m.m["a"] != 2 {
		t.Fatalf("baselines stored %v and %v", u.m, m.m)
	}
	m.mu.Lock()
	done := make(chan struct{})
	go func() {
		m.Set("b", 3)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("MutexRegistry.Set did not take the lock")
	case <-time.After(20 * time.Millisecond):
	}
	m.mu.Unlock()
	<-done
}
