//go:build !race

package dflag_test

import (
	"testing"

	"bounded.dev/dflag"
)

// TestKindHoldDoesNotAllocate: Take and Drop of a KindHold allocate
// nothing, unlike HoldKind's release closure (the race detector's
// instrumentation allocates, hence the build tag).
func TestKindHoldDoesNotAllocate(t *testing.T) {
	h, err := dflag.NewKindHold("kind_hold_t", "test:alloc")
	must(t, err)
	if n := testing.AllocsPerRun(100, func() { h.Take(); h.Drop() }); n != 0 {
		t.Fatalf("Take+Drop allocate %v times", n)
	}
}
