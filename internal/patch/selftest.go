//go:build linux

package patch

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
)

// selfTestResult runs the self-test once and returns its result.
var selfTestResult = sync.OnceValue(func() error { return std.selfTest() })

var probeHits atomic.Uint64

//go:noinline
func probeTarget() { probeHits.Add(1) }

//go:noinline
func probeCaller() { probeTarget() }

// selfTest patches the engine's own probe site and checks that the call
// stops and resumes.
func (e *engine) selfTest() error {
	if e.isa.needSyncCore() && !syncCore() {
		return fmt.Errorf("%w: self-test: %s needs membarrier(PRIVATE_EXPEDITED_SYNC_CORE) (Linux 4.16 or later) to make other threads execute patched code; the kernel refused it", ErrUnsupported, e.isa.name())
	}
	target := reflect.ValueOf(probeTarget).Pointer()
	sites, err := e.find(target)
	if err != nil {
		return fmt.Errorf("self-test: %w", err)
	}
	var probe []Change
	for _, s := range sites {
		if strings.HasSuffix(s.Func, ".probeCaller") {
			probe = append(probe, Change{Addr: s.Addr, Target: target})
		}
	}
	if len(probe) != 1 {
		return fmt.Errorf("%w: self-test found %d calls in probeCaller, want 1", ErrNoCallSites, len(probe))
	}
	if _, err := e.apply(probe); err != nil {
		return fmt.Errorf("self-test: %w", err)
	}
	before := probeHits.Load()
	probeCaller()
	skipped := probeHits.Load() == before
	probe[0].Call = true
	if _, err := e.apply(probe); err != nil {
		return fmt.Errorf("self-test: %w", err)
	}
	probeCaller()
	if !skipped || probeHits.Load() != before+1 {
		return fmt.Errorf("self-test: the patched probe call did not stop and resume (skipped %v, hits %d, want %d)", skipped, probeHits.Load(), before+1)
	}
	return nil
}
