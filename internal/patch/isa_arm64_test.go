//go:build linux && arm64

package patch

import (
	"encoding/binary"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/arch/arm64/arm64asm"
)

// These tests run real arm64 code: on an amd64 machine under
// qemu-aarch64-static (go test -exec qemu-aarch64-static, as .ci/run
// does). qemu executes the patched words, the stores and the membarrier,
// so they check that sites are found, that the words written are NOP and
// the original BL, and that calls stop and resume in other threads. It
// does not model caches: DC CVAU / IC IVAU and the barriers are no-ops
// under emulation, and their argument is in docs/arm64.md.

var a64Hits atomic.Int64

//go:noinline
func a64Target() { a64Hits.Add(1) }

//go:noinline
func a64Caller() { a64Target() }

func word(addr uintptr) uint32 { return binary.LittleEndian.Uint32(mem(addr, 4)) }

func a64Sites(t *testing.T) []Site {
	t.Helper()
	var out []Site
	sites, err := Find(reflect.ValueOf(a64Target).Pointer())
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	for _, s := range sites {
		if strings.HasSuffix(s.Func, ".a64Caller") {
			out = append(out, s)
		}
	}
	if len(out) != 1 {
		t.Fatalf("found %d sites in a64Caller, want 1 (all: %+v)", len(out), sites)
	}
	return out
}

func TestARM64StatusNil(t *testing.T) {
	if err := Status(); err != nil {
		t.Fatalf("Status() = %v, want nil: the self-test must pass on linux/arm64", err)
	}
}

func TestARM64BLToNOPAndBack(t *testing.T) {
	s := a64Sites(t)[0]
	if s.Addr&3 != 0 {
		t.Fatalf("site %#x is not word-aligned", s.Addr)
	}
	bl := word(s.Addr)
	if tgt, ok := blTarget(bl, s.Addr); !ok || tgt != s.Target {
		t.Fatalf("word at site = %#08x, want BL to %#x", bl, s.Target)
	}
	before := a64Hits.Load()
	a64Caller()
	if a64Hits.Load() != before+1 {
		t.Fatal("the call did not run before patching")
	}

	ch := []Change{{Addr: s.Addr, Target: s.Target, Call: false}}
	if _, err := Apply(ch); err != nil || ch[0].Calls || ch[0].Err != nil {
		t.Fatalf("Apply(off) = %v, change %+v", err, ch[0])
	}
	if w := word(s.Addr); w != wordNOP {
		t.Fatalf("word after switching off = %#08x, want NOP %#08x", w, wordNOP)
	}
	before = a64Hits.Load()
	a64Caller()
	if a64Hits.Load() != before {
		t.Fatal("the call ran while switched off")
	}

	ch = []Change{{Addr: s.Addr, Target: s.Target, Call: true}}
	if _, err := Apply(ch); err != nil || !ch[0].Calls {
		t.Fatalf("Apply(on) = %v, change %+v", err, ch[0])
	}
	if w := word(s.Addr); w != bl {
		t.Fatalf("word after switching on = %#08x, want the original BL %#08x", w, bl)
	}
	before = a64Hits.Load()
	a64Caller()
	if a64Hits.Load() != before+1 {
		t.Fatal("the call did not run after switching back on")
	}
}

// TestARM64OtherThreads switches the site while other OS threads run it
// and checks that, once Apply returns, every thread sees the new code.
func TestARM64OtherThreads(t *testing.T) {
	s := a64Sites(t)[0]
	var stop atomic.Bool
	var wg sync.WaitGroup
	workers := 3
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for !stop.Load() {
				a64Caller()
			}
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()
	for i := 0; i < 10; i++ {
		on := i%2 == 1
		ch := []Change{{Addr: s.Addr, Target: s.Target, Call: on}}
		if _, err := Apply(ch); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if on {
			continue
		}
		// Off: once every worker has gone round its loop again the count
		// must stand still.
		runtime.Gosched()
		settled := a64Hits.Load()
		for range 200 {
			runtime.Gosched()
		}
		if got := a64Hits.Load(); got != settled {
			t.Fatalf("round %d: %d calls ran after Apply switched the site off", i, got-settled)
		}
	}
	if _, err := Apply([]Change{{Addr: s.Addr, Target: s.Target, Call: true}}); err != nil {
		t.Fatal(err)
	}
}

func TestARM64Encodings(t *testing.T) {
	for _, c := range []struct {
		w      uint32
		addr   uintptr
		target uintptr
		ok     bool
	}{
		{0x94000001, 0x1000, 0x1004, true},
		{0x97ffffff, 0x1000, 0x0ffc, true},
		{0x95ffffff, 0x0, 0x7fffffc, true},
		{0x96000000, 0x8000000, 0x0, true},
		{0x14000001, 0x1000, 0, false}, // B, not BL
		{wordNOP, 0x1000, 0, false},
	} {
		got, ok := blTarget(c.w, c.addr)
		if ok != c.ok || ok && got != c.target {
			t.Errorf("blTarget(%#08x, %#x) = %#x, %v; want %#x, %v", c.w, c.addr, got, ok, c.target, c.ok)
		}
	}
	// LDR X0, .+8 loads 8 bytes of data at .+8: the BL-looking words
	// there are data, not calls.
	code := make([]byte, 16)
	binary.LittleEndian.PutUint32(code[0:], 0x58000040)  // LDR X0, .+8
	binary.LittleEndian.PutUint32(code[4:], 0x94000010)  // BL (real)
	binary.LittleEndian.PutUint32(code[8:], 0x94000001)  // data
	binary.LittleEndian.PutUint32(code[12:], 0x94000002) // data
	var found []uintptr
	arm64{}.calls(code, 0x4000, func(addr, _ uintptr) { found = append(found, addr) })
	if len(found) != 1 || found[0] != 0x4004 {
		t.Fatalf("calls found %#x, want only the real BL at 0x4004", found)
	}
	g := geometry(0x8444c004)
	if g.dline != 64 || g.iline != 64 || g.flags != 0 {
		t.Fatalf("geometry(0x8444c004) = %+v, want 64-byte lines", g)
	}
	if g := geometry(1<<28 | 1<<29 | 3<<16 | 3); g.flags != cacheIDC|cacheDIC || g.dline != 32 {
		t.Fatalf("geometry with IDC and DIC = %+v", g)
	}
}

// TestARM64DecoderAgrees checks the engine's two decoders of A64 words,
// BL and LDR (literal), against golang.org/x/arch/arm64/arm64asm on the
// real text of this test binary: every word the engine takes for either
// (and an evenly spaced sample of 20,000 other words, for what it might
// miss) decodes the same way, with the same target or literal address.
// It also checks that the index holds no word that an LDR (literal) loads
// as data, and that the text has literal pools for that to mean anything.
func TestARM64DecoderAgrees(t *testing.T) {
	ranges, err := std.text()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, r := range ranges {
		total += int(r.hi-r.lo) / 4
	}
	every := max(1, total/20000)
	data := map[uintptr]bool{}
	var bls, lits, sampled, blData int
	n := 0
	for _, r := range ranges {
		for addr := (r.lo + 3) &^ 3; addr+4 <= r.hi; addr += 4 {
			n++
			w := word(addr)
			tgt, isBL := blTarget(w, addr)
			at, size := literalSpan(w, addr)
			if !isBL && size == 0 && n%every != 0 {
				continue
			}
			sampled++
			inst, derr := arm64asm.Decode(mem(addr, 4))
			var rel arm64asm.PCRel
			hasRel := false
			for _, a := range inst.Args {
				if p, ok := a.(arm64asm.PCRel); ok {
					rel, hasRel = p, true
				}
			}
			wantBL := derr == nil && inst.Op == arm64asm.BL && hasRel
			if isBL != wantBL || isBL && tgt != addr+uintptr(rel) {
				t.Errorf("%#x: %#08x: engine BL=%v target %#x; arm64asm %v (%v)", addr, w, isBL, tgt, inst, derr)
			}
			wantLit := derr == nil && hasRel && (inst.Op == arm64asm.LDR || inst.Op == arm64asm.LDRSW || inst.Op == arm64asm.PRFM)
			if size != 0 && derr != nil {
				// An unallocated encoding in the LDR (literal) class (opc
				// 11 with V set): data, and excluding its neighbour is the
				// safe direction.
				continue
			}
			if (size != 0) != wantLit || size != 0 && at != addr+uintptr(rel) {
				t.Errorf("%#x: %#08x: engine literal at %#x (%d bytes); arm64asm %v (%v)", addr, w, at, size, inst, derr)
			}
			if isBL {
				bls++
			}
			if size != 0 {
				lits++
				for a := at &^ 3; a < at+size; a += 4 {
					data[a] = true
				}
			}
		}
	}
	for a := range data {
		if a >= ranges[0].lo && a+4 <= ranges[len(ranges)-1].hi && word(a)&maskBL == opBL {
			blData++
		}
	}
	x := buildIndex(arch, ranges)
	for _, c := range x.calls {
		if addr := x.base + uintptr(uint32(c)); data[addr] {
			t.Errorf("the index holds %#x, a word an LDR (literal) loads as data", addr)
		}
	}
	t.Logf("%d words: %d BL, %d LDR (literal) loading %d words, %d of them BL-shaped data; %d words checked against arm64asm", n, bls, lits, len(data), blData, sampled)
	if lits == 0 || bls == 0 {
		t.Errorf("found %d BL and %d LDR (literal) in the text; a Go binary has both", bls, lits)
	}
}

// abi0 returns the entry of the assembly function fn: reflect gives its
// ABIInternal wrapper, whose first BL goes to the ABI0 body.
func abi0(t *testing.T, fn any) uintptr {
	t.Helper()
	entry := reflect.ValueOf(fn).Pointer()
	for a := entry; a < entry+64; a += 4 {
		if tgt, ok := blTarget(word(a), a); ok {
			return tgt
		}
	}
	return entry // no wrapper
}

// TestARM64CacheMaintenanceCode decodes the assembled cache maintenance
// (cache_arm64.s) and checks it against the Arm ARM's sequence for
// instructions written by the same PE (DC CVAU, DSB ISH, IC IVAU, DSB ISH,
// ISB) and Linux's caches_clean_inval_pou: qemu executes these as no-ops,
// so the encodings are what a test can check here. The Go assembler has
// no IC IVAU: its word is written by hand, and this test pins it (SYS #3,
// C7, C5, #1 with the loop register).
func TestARM64CacheMaintenanceCode(t *testing.T) {
	ranges, err := std.text()
	if err != nil {
		t.Fatal(err)
	}
	body := func(fn any) []uint32 {
		entry := abi0(t, fn)
		r, ok := rangeOf(ranges, entry, 4)
		if !ok {
			t.Fatalf("%s is not in the text", funcName(entry))
		}
		var ws []uint32
		for a := entry; a < funcEnd(r, entry); a += 4 {
			ws = append(ws, word(a))
		}
		return ws
	}
	const (
		dcCVAU = 0xD50B7B20 // DC CVAU, Xt (SYS #3, C7, C11, #1)
		icIVAU = 0xD50B7520 // IC IVAU, Xt (SYS #3, C7, C5, #1)
		dsbISH = 0xD5033B9F
		isbSY  = 0xD5033FDF
		mrsCTR = 0xD53B0020 // MRS Xt, CTR_EL0 (S3_3_C0_C0_1)
	)
	var seq []string
	dcReg, icReg := -1, -1
	for _, w := range body(syncICache) {
		switch {
		case w&^0x1F == dcCVAU:
			seq, dcReg = append(seq, "DC CVAU"), int(w&0x1F)
		case w&^0x1F == icIVAU:
			seq, icReg = append(seq, "IC IVAU"), int(w&0x1F)
		case w == dsbISH:
			seq = append(seq, "DSB ISH")
		case w == isbSY:
			seq = append(seq, "ISB")
		}
		if inst, err := arm64asm.Decode(binary.LittleEndian.AppendUint32(nil, w)); err == nil && inst.Op == arm64asm.DC {
			if got := inst.String(); got != "DC CVAU, X5" {
				t.Errorf("the data-cache operation is %s, want DC CVAU, X5", got)
			}
		}
	}
	want := []string{"DC CVAU", "DSB ISH", "IC IVAU", "DSB ISH", "ISB"}
	if strings.Join(seq, "; ") != strings.Join(want, "; ") {
		t.Errorf("syncICache executes %q, want %q", seq, want)
	}
	if dcReg != icReg || dcReg < 0 {
		t.Errorf("DC CVAU uses X%d, IC IVAU X%d: both must step the same loop register", dcReg, icReg)
	}
	ctr := false
	for _, w := range body(readCTR) {
		ctr = ctr || w&^0x1F == mrsCTR
	}
	if !ctr {
		t.Error("readCTR has no MRS of CTR_EL0")
	}
	t.Logf("CTR_EL0 = %#x: %+v", readCTR(), cacheInfo())
}
