//go:build linux && (amd64 || arm64)

package patch

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bounded.dev/internal/patch/seccomp"
	"golang.org/x/sys/unix"
)

// The fault-injection tests run in a child process (seccomp.Child) where a
// seccomp filter makes some mprotect calls fail with EPERM, and check that
// every change's Calls says what the code really does.

var (
	faultHits atomic.Int64
	faultSink uint64
)

//go:noinline
func faultTarget() { faultHits.Add(1) }

// runs reports whether calling fn executes its call to faultTarget.
func runs(fn func()) bool {
	before := faultHits.Load()
	fn()
	return faultHits.Load() != before
}

// faultSites returns faultTarget's sites in faultA and faultB, checking
// that they are at least one page apart (two runs of pages).
func faultSites(t *testing.T) (a, b Site) {
	t.Helper()
	faultSink = faultFiller(uint64(len(t.Name()))) // keeps the filler linked
	all, err := Find(pc(faultTarget))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("faultTarget has %d sites, want 2: %+v", len(all), all)
	}
	a, b = all[0], all[1]
	if a.Addr/pageSize+1 >= b.Addr/pageSize {
		if pageSize > 4096 {
			t.Skipf("the sites %#x and %#x are not in two runs of %d-byte pages (faultFiller is about 12 KB)", a.Addr, b.Addr, pageSize)
		}
		t.Fatalf("the sites %#x and %#x are not in two runs of pages", a.Addr, b.Addr)
	}
	return a, b
}

func pageOf(s Site) uintptr { return s.Addr &^ (pageSize - 1) }

// truthful fails t unless each change's Calls matches what its code does.
func truthful(t *testing.T, cs []Change, fns map[uintptr]func()) {
	t.Helper()
	for _, c := range cs {
		if got := runs(fns[c.Addr]); got != c.Calls {
			t.Errorf("site %#x: Calls = %v but the call runs = %v (err %v)", c.Addr, c.Calls, got, c.Err)
		}
	}
}

// install installs the filter, or skips the test where seccomp is not
// implemented (qemu-user) or, outside CI, cannot be installed.
// newThreads makes the runtime start OS threads under the filter: in
// cgo and -race builds each is a pthread_create, whose stack glibc makes
// read-write with mprotect, which the filter must let through.
func newThreads(t *testing.T) {
	t.Helper()
	var wg sync.WaitGroup
	var started atomic.Int32
	block := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			runtime.LockOSThread() // this thread is taken; the next goroutine needs another
			started.Add(1)
			<-block
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for started.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(block)
	wg.Wait()
	if started.Load() != 4 {
		t.Fatalf("only %d of 4 goroutines on their own threads started under the filter", started.Load())
	}
}

func install(t *testing.T, r seccomp.Rule) {
	t.Helper()
	seccomp.Require(t, r)
}

// TestFaultMprotectRefused: with every writable mprotect refused, the
// self-test and Apply fail with an error that wraps both ErrMprotect and
// the errno, and the calls keep running.
func TestFaultMprotectRefused(t *testing.T) {
	if !seccomp.Child(t) {
		return
	}
	install(t, seccomp.Rule{Write: true})
	newThreads(t)
	err := Status()
	if !errors.Is(err, ErrMprotect) || !errors.Is(err, unix.EPERM) {
		t.Fatalf("Status = %v, want ErrMprotect wrapping EPERM", err)
	}
	a, b := faultSites(t)
	cs := changes([]Site{a, b}, false)
	n, err := Apply(cs)
	if n != 0 || !errors.Is(err, ErrMprotect) || !errors.Is(err, unix.EPERM) {
		t.Errorf("Apply(off) = %d, %v", n, err)
	}
	for _, c := range cs {
		if !c.Calls || !errors.Is(c.Err, ErrMprotect) {
			t.Errorf("site %#x: calls %v, err %v; want the call kept and ErrMprotect", c.Addr, c.Calls, c.Err)
		}
	}
	truthful(t, cs, map[uintptr]func(){a.Addr: faultA, b.Addr: faultB})
	if err := Status(); !errors.Is(err, unix.EPERM) {
		t.Errorf("Status after the failure = %v, want the broken state", err)
	}
}

// TestFaultRestoreWhenBroken: once broken, restoring a call is still
// attempted (and works where the kernel allows it); switching off is not.
func TestFaultRestoreWhenBroken(t *testing.T) {
	if !seccomp.Child(t) {
		return
	}
	a, b := faultSites(t)
	fns := map[uintptr]func(){a.Addr: faultA, b.Addr: faultB}
	set(t, []Site{a, b}, false)
	install(t, seccomp.Rule{Page: pageOf(a), Write: true})

	cs := changes([]Site{a, b}, true)
	n, err := Apply(cs)
	if n != 1 || !errors.Is(err, unix.EPERM) {
		t.Errorf("Apply(on) = %d, %v; want 1 site restored and EPERM", n, err)
	}
	if cs[0].Calls || !errors.Is(cs[0].Err, unix.EPERM) || !cs[1].Calls || cs[1].Err != nil {
		t.Errorf("Apply(on): %+v", cs)
	}
	truthful(t, cs, fns)
	if err := Status(); !errors.Is(err, ErrMprotect) {
		t.Errorf("Status = %v, want the broken state", err)
	}

	// Broken: switching off is refused without touching the kernel.
	st := ReadStats()
	cs = changes([]Site{b}, false)
	if n, err := Apply(cs); n != 0 || !errors.Is(err, ErrMprotect) || !cs[0].Calls {
		t.Errorf("Apply(off) when broken = %d, %v, %+v", n, err, cs)
	}
	if ReadStats().Mprotects != st.Mprotects {
		t.Error("a refused switch-off called mprotect")
	}
	truthful(t, cs, fns)

	// Restoring is attempted again (one mprotect, refused again).
	cs = changes([]Site{a}, true)
	if n, err := Apply(cs); n != 0 || !errors.Is(err, unix.EPERM) || cs[0].Calls {
		t.Errorf("Apply(on) again = %d, %v, %+v", n, err, cs)
	}
	if ReadStats().Mprotects != st.Mprotects+1 {
		t.Errorf("restoring when broken made %d mprotect calls, want 1", ReadStats().Mprotects-st.Mprotects)
	}
	truthful(t, cs, fns)
}

// TestFaultStopsAfterFailedRun: after a run of pages fails, the same Apply
// switches nothing else off.
func TestFaultStopsAfterFailedRun(t *testing.T) {
	if !seccomp.Child(t) {
		return
	}
	a, b := faultSites(t)
	install(t, seccomp.Rule{Page: pageOf(a), Write: true, Errno: unix.ENOMEM})
	st := ReadStats()
	cs := changes([]Site{a, b}, false)
	n, err := Apply(cs)
	if n != 0 || !errors.Is(err, unix.ENOMEM) {
		t.Errorf("Apply(off) = %d, %v", n, err)
	}
	if !errors.Is(cs[1].Err, errEarlier) || !errors.Is(cs[1].Err, unix.ENOMEM) {
		t.Errorf("the later site's error = %v, want errEarlier wrapping the failure", cs[1].Err)
	}
	if got := ReadStats().Mprotects - st.Mprotects; got != 1 {
		t.Errorf("%d mprotect calls, want 1 (the later run not attempted)", got)
	}
	truthful(t, cs, map[uintptr]func(){a.Addr: faultA, b.Addr: faultB})
	// ENOMEM is not a refusal for good: the engine is not broken.
	if err := Status(); err != nil && errors.Is(err, unix.ENOMEM) {
		t.Errorf("Status = %v after a transient failure", err)
	}
}

// TestFaultDowngradeRefused: when restoring r-x is refused, the written
// site is reported as written, the engine is broken, and a restore still
// works.
func TestFaultDowngradeRefused(t *testing.T) {
	if !seccomp.Child(t) {
		return
	}
	a, b := faultSites(t)
	fns := map[uintptr]func(){a.Addr: faultA, b.Addr: faultB}
	install(t, seccomp.Rule{Page: pageOf(a), Write: false})

	cs := changes([]Site{a}, false)
	if n, err := Apply(cs); n != 1 || !errors.Is(err, ErrMprotect) || !errors.Is(err, unix.EPERM) || cs[0].Calls {
		t.Errorf("Apply(off) = %d, %v, %+v; want the site written and ErrMprotect", n, err, cs)
	}
	truthful(t, cs, fns)
	cs = changes([]Site{b}, false)
	if n, err := Apply(cs); n != 0 || !errors.Is(err, ErrMprotect) || !cs[0].Calls {
		t.Errorf("Apply(off) when broken = %d, %v, %+v", n, err, cs)
	}
	truthful(t, cs, fns)
	cs = changes([]Site{a}, true)
	if n, _ := Apply(cs); n != 1 || !cs[0].Calls {
		t.Errorf("Apply(on) when broken = %d, %+v; want the call restored", n, cs)
	}
	truthful(t, cs, fns)
}
