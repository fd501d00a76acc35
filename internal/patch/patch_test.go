//go:build linux && (amd64 || arm64)

package patch

import (
	"encoding/binary"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var targetHits atomic.Int64

// target is the function whose call sites the tests patch.
//
//go:noinline
func target() { targetHits.Add(1) }

// callTarget holds the one call site the tests switch.
//
//go:noinline
func callTarget() { target() }

// callTwice holds two call sites on two lines.
//
//go:noinline
func callTwice() {
	target()
	target()
}

// neverCalled is referenced only as a value: it has no call site.
//
//go:noinline
func neverCalled() { targetHits.Add(100) }

func pc(fn any) uintptr { return reflect.ValueOf(fn).Pointer() }

// storeBytes is what switching one site stores, as Stats.Bytes counts it:
// the opcode byte on amd64, the whole word on arm64.
var storeBytes = map[string]uint64{"amd64": 1, "arm64": 4}[runtime.GOARCH]

// callsTo reports whether the site at addr holds a direct call to target.
func callsTo(addr, target uintptr) bool {
	t, ok := arch.callTarget(mem(addr, uintptr(arch.siteLen())), addr)
	return ok && t == target
}

// holdsOff reports whether the site at addr holds the switched-off
// encoding, spelled out here independently of the instruction set's code:
// TEST EAX, imm32 (A9) on amd64, NOP on arm64.
func holdsOff(addr uintptr) bool {
	switch runtime.GOARCH {
	case "amd64":
		return mem(addr, 1)[0] == 0xA9
	case "arm64":
		return binary.LittleEndian.Uint32(mem(addr, 4)) == 0xD503201F
	}
	return false
}

// sitesIn returns target's sites inside the function named by suffix.
func sitesIn(t *testing.T, suffix string) []Site {
	t.Helper()
	all, err := Find(pc(target))
	if err != nil {
		t.Fatalf("Find(target): %v", err)
	}
	var out []Site
	for _, s := range all {
		if strings.HasSuffix(s.Func, suffix) {
			out = append(out, s)
		}
	}
	return out
}

func changes(sites []Site, call bool) []Change {
	cs := make([]Change, len(sites))
	for i, s := range sites {
		cs[i] = Change{Addr: s.Addr, Target: s.Target, Call: call}
	}
	return cs
}

// set switches the sites and fails the test on any error.
func set(t *testing.T, sites []Site, call bool) int {
	t.Helper()
	cs := changes(sites, call)
	n, err := Apply(cs)
	if err != nil {
		t.Fatalf("Apply(call=%v): %v", call, err)
	}
	for _, c := range cs {
		if c.Err != nil || c.Calls != call {
			t.Fatalf("Apply(call=%v): site %#x: calls=%v err=%v", call, c.Addr, c.Calls, c.Err)
		}
	}
	return n
}

func TestStatus(t *testing.T) {
	if err := Status(); err != nil {
		t.Fatalf("Status: %v", err)
	}
	if ReadStats().Mprotects < 4 {
		t.Errorf("the self-test made %d mprotect calls, want at least 4", ReadStats().Mprotects)
	}
}

func TestFindReportsSites(t *testing.T) {
	sites := sitesIn(t, ".callTwice")
	if len(sites) != 2 {
		t.Fatalf("found %d sites in callTwice, want 2: %+v", len(sites), sites)
	}
	_, file, _, _ := runtime.Caller(0)
	for i, s := range sites {
		if !s.Call || s.Target != pc(target) {
			t.Errorf("site %d: %+v", i, s)
		}
		if s.File != file {
			t.Errorf("site %d: file %q, want %q", i, s.File, file)
		}
		if i > 0 && s.Line != sites[i-1].Line+1 {
			t.Errorf("sites on lines %d and %d, want consecutive lines", sites[i-1].Line, s.Line)
		}
		if !callsTo(s.Addr, pc(target)) {
			t.Errorf("site %d: % x is not a call to target", i, mem(s.Addr, uintptr(arch.siteLen())))
		}
	}
	if sites[0].Addr >= sites[1].Addr {
		t.Error("sites are not sorted by address")
	}
}

func TestFlipRealCode(t *testing.T) {
	sites := sitesIn(t, ".callTarget")
	if len(sites) != 1 {
		t.Fatalf("found %d sites in callTarget, want 1", len(sites))
	}
	before := targetHits.Load()
	callTarget()
	if targetHits.Load() != before+1 {
		t.Fatal("the call does not run before patching")
	}

	st := ReadStats()
	if n := set(t, sites, false); n != 1 {
		t.Fatalf("switching off wrote %d sites, want 1", n)
	}
	if got := ReadStats(); got.Mprotects-st.Mprotects != 2 || got.Pages-st.Pages != 1 || got.Bytes-st.Bytes != storeBytes {
		t.Errorf("one site: %+v -> %+v, want 2 mprotects, 1 page, %d byte(s)", st, got, storeBytes)
	}
	if !holdsOff(sites[0].Addr) {
		t.Fatalf("the site holds % x, not the switched-off encoding", mem(sites[0].Addr, uintptr(arch.siteLen())))
	}
	before = targetHits.Load()
	for range 10 {
		callTarget()
	}
	if targetHits.Load() != before {
		t.Fatal("the call still runs after switching it off")
	}

	// Never write a site that already holds the encoding: no mprotect.
	st = ReadStats()
	if n := set(t, sites, false); n != 0 || ReadStats() != st {
		t.Errorf("switching off twice wrote %d sites, stats %+v -> %+v", n, st, ReadStats())
	}
	// Find still reports the switched-off site.
	if again := sitesIn(t, ".callTarget"); len(again) != 1 || again[0].Addr != sites[0].Addr || again[0].Call {
		t.Errorf("Find on a switched-off site: %+v", again)
	}

	if n := set(t, sites, true); n != 1 {
		t.Fatalf("switching on wrote %d sites, want 1", n)
	}
	if !callsTo(sites[0].Addr, pc(target)) {
		t.Fatalf("switched on, the site holds % x, not the call", mem(sites[0].Addr, uintptr(arch.siteLen())))
	}
	before = targetHits.Load()
	for range 10 {
		callTarget()
	}
	if targetHits.Load() != before+10 {
		t.Fatalf("the call did not resume: %d calls, want 10", targetHits.Load()-before)
	}
}

func TestBatchOneRun(t *testing.T) {
	sites := append(sitesIn(t, ".callTwice"), sitesIn(t, ".callTarget")...)
	if len(sites) != 3 {
		t.Fatalf("%d sites", len(sites))
	}
	first, last := sites[0].Addr/pageSize, sites[0].Addr/pageSize
	for _, s := range sites {
		first, last = min(first, s.Addr/pageSize), max(last, s.Addr/pageSize)
	}
	if last-first > 1 {
		t.Skipf("the test functions are %d pages apart", last-first)
	}
	st := ReadStats()
	set(t, sites, false)
	got := ReadStats()
	if got.Mprotects-st.Mprotects != 2 || got.Pages-st.Pages != uint64(last-first+1) || got.Bytes-st.Bytes != 3*storeBytes || got.Batches-st.Batches != 1 {
		t.Errorf("three neighbouring sites: %+v -> %+v, want one mprotect pair", st, got)
	}
	before := targetHits.Load()
	callTarget()
	callTwice()
	if targetHits.Load() != before {
		t.Error("calls ran while switched off")
	}
	set(t, sites, true)
	callTarget()
	callTwice()
	if targetHits.Load() != before+3 {
		t.Error("calls did not resume")
	}
}

func TestErrors(t *testing.T) {
	if _, err := Find(pc(neverCalled)); !errors.Is(err, ErrNoCallSites) || !strings.Contains(err.Error(), "//go:noinline") {
		t.Errorf("Find(neverCalled) = %v, want ErrNoCallSites mentioning //go:noinline", err)
	}
	heap := new([64]byte)
	if _, err := Find(uintptr(reflect.ValueOf(heap).Pointer())); !errors.Is(err, ErrTextNotFound) {
		t.Errorf("Find(heap address) = %v, want ErrTextNotFound", err)
	}

	// Apply writes only to sites Find verified.
	st := ReadStats()
	entry := pc(callTarget)
	cs := []Change{{Addr: entry, Target: pc(target), Call: false}}
	if n, err := Apply(cs); n != 0 || !errors.Is(err, ErrNotSite) || !errors.Is(cs[0].Err, ErrNotSite) {
		t.Errorf("Apply(unverified address) = %d, %v (change err %v), want ErrNotSite", n, err, cs[0].Err)
	}
	// A verified site with the wrong target.
	sites := sitesIn(t, ".callTarget")
	cs = []Change{{Addr: sites[0].Addr, Target: pc(neverCalled), Call: false}}
	if n, err := Apply(cs); n != 0 || !errors.Is(err, ErrNotSite) || !cs[0].Calls {
		t.Errorf("Apply(wrong target) = %d, %v, calls %v; want ErrNotSite and the call kept", n, err, cs[0].Calls)
	}
	if ReadStats() != st {
		t.Errorf("refused changes touched code: %+v -> %+v", st, ReadStats())
	}
}

// TestStress executes sites on several goroutines while another flips
// them thousands of times.
func TestStress(t *testing.T) {
	sites := append(sitesIn(t, ".callTwice"), sitesIn(t, ".callTarget")...)
	flips := 4000
	if testing.Short() {
		flips = 500
	}
	start := targetHits.Load()
	var calls atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			n := int64(0)
			for !stop.Load() {
				callTarget()
				callTwice()
				n += 3
			}
			calls.Add(n)
		})
	}
	st := ReadStats()
	t0 := time.Now()
	for i := range flips {
		set(t, sites, i%2 == 1) // ends switched on
	}
	took := time.Since(t0)
	stop.Store(true)
	wg.Wait()
	got := ReadStats()
	t.Logf("%d flips of %d sites in %v (%v each); %d calls executed, %d ran; %d mprotects, %d pages",
		flips, len(sites), took, took/time.Duration(flips), calls.Load(), targetHits.Load()-start,
		got.Mprotects-st.Mprotects, got.Pages-st.Pages)
	if ran := targetHits.Load() - start; ran > calls.Load() || ran < 0 {
		t.Errorf("%d calls ran out of %d executed", ran, calls.Load())
	}
	if want := uint64(flips*len(sites)) * storeBytes; got.Bytes-st.Bytes != want {
		t.Errorf("wrote %d bytes, want %d", got.Bytes-st.Bytes, want)
	}

	// Exact counts once the flipping stops.
	before := targetHits.Load()
	for range 100 {
		callTarget()
		callTwice()
	}
	if got := targetHits.Load() - before; got != 300 {
		t.Errorf("switched on: %d calls ran, want 300", got)
	}
	set(t, sites, false)
	before = targetHits.Load()
	for range 100 {
		callTarget()
		callTwice()
	}
	if got := targetHits.Load() - before; got != 0 {
		t.Errorf("switched off: %d calls ran, want 0", got)
	}
	set(t, sites, true)
}

func BenchmarkFind(b *testing.B) {
	for b.Loop() {
		if _, err := Find(pc(target)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFlip switches one site off and on: two Apply calls.
func BenchmarkFlip(b *testing.B) {
	sites := sitesIn(&testing.T{}, ".callTarget")
	off, on := changes(sites, false), changes(sites, true)
	st := ReadStats()
	for b.Loop() {
		Apply(off)
		Apply(on)
	}
	got := ReadStats()
	b.ReportMetric(float64(got.Mprotects-st.Mprotects)/float64(b.N), "mprotects/op")
}
