//go:build linux && (amd64 || arm64)

package aspect_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"bounded.dev/aspect"
	"bounded.dev/dflag"
)

var (
	adviceHits   atomic.Int64
	registerOnce sync.Once
)

//go:noinline
func advice() { adviceHits.Add(1) }

//go:noinline
func callAdvice() { advice() }

//go:noinline
func defaultAdvice() { adviceHits.Add(100) }

//go:noinline
func callDefaultAdvice() { defaultAdvice() }

// hits runs fn and returns how much adviceHits grew.
func hits(fn func()) int64 {
	before := adviceHits.Load()
	fn()
	return adviceHits.Load() - before
}

func TestCallSitesFollowTheKind(t *testing.T) {
	if err := dflag.PatchStatus(); err != nil {
		t.Skip(err)
	}
	k := aspect.New("aspect_calls", aspect.WithLinger(0))
	// An activation taken before the registration applies to it.
	release := k.Activate()
	// Call sites are registered once per process (go test -count=N).
	registerOnce.Do(func() {
		if n, err := k.OptCalls("advice", advice, "counted advice"); n != 1 || err != nil {
			t.Fatalf("OptCalls = %d, %v", n, err)
		}
		if n, err := k.DefaultCalls("default_advice", defaultAdvice); n != 1 || err != nil {
			t.Fatalf("DefaultCalls = %d, %v", n, err)
		}
	})
	if hits(callAdvice) != 1 {
		t.Fatal("Opt call site off while the kind is active")
	}
	release()
	if hits(callAdvice) != 0 {
		t.Fatal("Opt call site still runs after the last release")
	}
	k.Do(func() {
		if hits(callAdvice) != 1 {
			t.Fatal("Opt call site off inside Do")
		}
	})
	if hits(callDefaultAdvice) != 100 {
		t.Fatal("Default call site off after registration")
	}
	if _, err := k.OptCalls("advice_again", advice); err == nil {
		t.Fatal("registering the same call sites twice succeeded")
	}
}
