//go:build linux && (amd64 || arm64)

package patch

import (
	"slices"
	"testing"
)

// TestIndexMatchesScan checks the index of calls against a scan of the
// whole text for each target, the way Find worked before the index.
func TestIndexMatchesScan(t *testing.T) {
	ranges, err := std.text()
	if err != nil {
		t.Fatal(err)
	}
	x := buildIndex(arch, ranges)
	if len(x.calls) < 1000 {
		t.Fatalf("the index holds %d calls; a test binary has tens of thousands", len(x.calls))
	}
	for _, fn := range []any{target, faultTarget, probeTarget, callTarget, t.Fatal} {
		var scan []uintptr
		for _, r := range ranges {
			arch.calls(mem(r.lo, r.hi-r.lo), r.lo, func(addr, to uintptr) {
				if to == pc(fn) {
					scan = append(scan, addr)
				}
			})
		}
		if got := x.lookup(pc(fn)); !slices.Equal(got, scan) {
			t.Errorf("%s: index %#x, scan %#x", funcName(pc(fn)), got, scan)
		}
	}
	if got := x.lookup(ranges[0].lo - 1); got != nil {
		t.Errorf("lookup below the text = %#x", got)
	}
}
