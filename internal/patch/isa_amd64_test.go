//go:build linux && amd64

package patch

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// vexVectors are VEX-encoded instructions that the Go compiler emits with
// GOAMD64=v3, one per mnemonic, length and operand kind, as objdump
// disassembled them.
var vexVectors = [][2]string{
	{"c4 c2 c0 f2 f8", "andn %r8,%rdi,%rdi"},
	{"c4 e2 e8 f3 ce", "blsr %rsi,%rdx"},
	{"c5 f9 92 c9", "kmovb %ecx,%k1"},
	{"c4 e1 fb 92 c8", "kmovq %rax,%k1"},
	{"c4 e1 f8 91 80 00 08 00 00", "kmovq %k0,0x800(%rax)"},
	{"c5 78 93 f9", "kmovw %k1,%r15d"},
	{"c4 63 7b f0 ea 19", "rorx $0x19,%edx,%r13d"},
	{"c4 e2 ea f7 c9", "sarx %rdx,%rcx,%rcx"},
	{"c4 e2 e1 f7 f6", "shlx %rbx,%rsi,%rsi"},
	{"c4 e2 e9 f7 50 28", "shlx %rdx,0x28(%rax),%rdx"},
	{"c4 e2 71 f7 b4 8c 5c 01 00 00", "shlx %ecx,0x15c(%rsp,%rcx,4),%esi"},
	{"c4 e2 eb f7 f0", "shrx %rdx,%rax,%rsi"},
	{"c4 c2 cb f7 11", "shrx %rsi,(%r9),%rdx"},
	{"c4 62 bb f7 48 38", "shrx %r8,0x38(%rax),%r9"},
	{"c4 e2 4b f7 4c 8c 10", "shrx %esi,0x10(%rsp,%rcx,4),%ecx"},
	{"c4 62 3b f7 8c 24 40 03 00 00", "shrx %r8d,0x340(%rsp),%r9d"},
	{"c5 fb 58 0d bd d8 1a 00", "vaddsd 0x1ad8bd(%rip),%xmm0,%xmm1 # 67fe90 <exprodata+0x10>"},
	{"c4 e2 f9 a9 0d 27 d9 1a 00", "vfmadd213sd 0x1ad927(%rip),%xmm0,%xmm1 # 67feb8 <exprodata+0x38>"},
	{"c4 e2 e9 b9 c1", "vfmadd231sd %xmm1,%xmm2,%xmm0"},
	{"c4 e2 f1 bd c2", "vfnmadd231sd %xmm2,%xmm1,%xmm0"},
	{"c4 c1 78 29 c2", "vmovaps %xmm0,%xmm10"},
	{"c5 f9 7f cf", "vmovdqa %xmm1,%xmm7"},
	{"c5 fd 7f 07", "vmovdqa %ymm0,(%rdi)"},
	{"c4 c1 79 7f c9", "vmovdqa %xmm1,%xmm9"},
	{"c5 fd 7f 4f 20", "vmovdqa %ymm1,0x20(%rdi)"},
	{"c5 79 6f 05 f1 53 09 00", "vmovdqa 0x953f1(%rip),%xmm8 # 6852a0 <flip_mask>"},
	{"c5 fe 7f f4", "vmovdqu %ymm6,%ymm4"},
	{"c5 fe 6f 16", "vmovdqu (%rsi),%ymm2"},
	{"c5 fe 6f 66 20", "vmovdqu 0x20(%rsi),%ymm4"},
	{"c5 fe 6f 5c 38 e0", "vmovdqu -0x20(%rax,%rdi,1),%ymm3"},
	{"c4 c1 7e 6f 44 00 e0", "vmovdqu -0x20(%r8,%rax,1),%ymm0"},
	{"c5 fe 7f 90 80 00 00 00", "vmovdqu %ymm2,0x80(%rax)"},
	{"c5 fd e7 07", "vmovntdq %ymm0,(%rdi)"},
	{"c5 fd e7 47 20", "vmovntdq %ymm0,0x20(%rdi)"},
	{"c5 fd fe c4", "vpaddd %ymm4,%ymm0,%ymm0"},
	{"c4 c1 7d fe c0", "vpaddd %ymm8,%ymm0,%ymm0"},
	{"c5 5d fe 4c 35 00", "vpaddd 0x0(%rbp,%rsi,1),%ymm4,%ymm9"},
	{"c5 fd d4 c4", "vpaddq %ymm4,%ymm0,%ymm0"},
	{"c4 c1 5d d4 e0", "vpaddq %ymm8,%ymm4,%ymm4"},
	{"c5 dd d4 45 00", "vpaddq 0x0(%rbp),%ymm4,%ymm0"},
	{"c4 e3 45 0f c6 04", "vpalignr $0x4,%ymm6,%ymm7,%ymm0"},
	{"c5 d5 db f4", "vpand %ymm4,%ymm5,%ymm6"},
	{"c5 fd db 05 ea e0 08 00", "vpand 0x8e0ea(%rip),%ymm0,%ymm0 # 685320 <MASK_YMM_LO>"},
	{"c4 e3 5d 02 e2 f0", "vpblendd $0xf0,%ymm2,%ymm4,%ymm4"},
	{"c4 e2 7d 78 c8", "vpbroadcastb %xmm0,%ymm1"},
	{"c5 e5 74 c2", "vpcmpeqb %ymm2,%ymm3,%ymm0"},
	{"c4 e3 45 06 c6 03", "vperm2f128 $0x3,%ymm6,%ymm7,%ymm0"},
	{"c4 e3 7d 46 e2 20", "vperm2i128 $0x20,%ymm2,%ymm0,%ymm4"},
	{"c5 fd d7 c0", "vpmovmskb %ymm0,%eax"},
	{"c5 e5 eb da", "vpor %ymm2,%ymm3,%ymm3"},
	{"c4 c2 7d 00 c5", "vpshufb %ymm13,%ymm0,%ymm0"},
	{"c4 62 3d 00 05 22 63 09 00", "vpshufb 0x96322(%rip),%ymm8,%ymm8 # 6852c0 <shuff_00BA>"},
	{"c5 fd 70 d7 fa", "vpshufd $0xfa,%ymm7,%ymm2"},
	{"c5 e5 72 f1 19", "vpslld $0x19,%ymm1,%ymm3"},
	{"c5 e5 73 f1 3f", "vpsllq $0x3f,%ymm1,%ymm3"},
	{"c5 ed 72 d1 07", "vpsrld $0x7,%ymm1,%ymm2"},
	{"c5 e5 73 d2 13", "vpsrlq $0x13,%ymm2,%ymm3"},
	{"c4 e2 7d 17 db", "vptest %ymm3,%ymm3"},
	{"c5 f9 ef c0", "vpxor %xmm0,%xmm0,%xmm0"},
	{"c4 41 01 ef ff", "vpxor %xmm15,%xmm15,%xmm15"},
	{"c5 f8 77", "vzeroupper"},
	{"c5 f8 77", "vzeroupper"},
	{"c5 fc 77", "vzeroall"},
	{"c4 e3 7d 18 44 24 10 01", "vinsertf128 $0x1,0x10(%rsp),%ymm0,%ymm0"},
	{"67 c5 f9 6e 00", "vmovd (%eax),%xmm0"},
}

func TestInstLenVEX(t *testing.T) {
	for _, v := range vexVectors {
		b, err := hex.DecodeString(strings.ReplaceAll(v[0], " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		// Followed by bytes >= 0xC0, which desynchronised x86asm.
		code := append(b, 0xE8, 0xC3, 0xC3, 0xC3, 0xC3, 0xC3)
		if n, err := (amd64{}).instLen(code); n != len(b) || err != nil {
			t.Errorf("%s (%s): length %d, %v; want %d", v[1], v[0], n, err, len(b))
		}
	}
}

func TestInstLenTricky(t *testing.T) {
	for _, c := range []struct {
		what string
		code []byte
		want int // 0: an error
	}{
		{"ENDBR64", []byte{0xF3, 0x0F, 0x1E, 0xFA, 0xC3}, 4},
		{"VZEROUPPER; CALL", []byte{0xC5, 0xF8, 0x77, 0xE8, 1, 2, 3, 4}, 3},
		{"CALL rel32", []byte{0xE8, 1, 2, 3, 4}, 5},
		{"TEST EAX, imm32", []byte{0xA9, 1, 2, 3, 4}, 5},
		{"INT3 padding", []byte{0xCC, 0xCC}, 1},
		{"EVEX", []byte{0x62, 0xF1, 0x7C, 0x48, 0x10, 0x00}, 0},
		{"VEX, reserved map", []byte{0xC4, 0xE0, 0x7D, 0x18, 0xC0}, 0},
		{"VEX, truncated", []byte{0xC4, 0xE3, 0x7D, 0x18}, 0},
		{"truncated CALL", []byte{0xE8, 1, 2}, 0},
	} {
		n, err := (amd64{}).instLen(c.code)
		if c.want == 0 && err == nil || c.want != 0 && (n != c.want || err != nil) {
			t.Errorf("%s: length %d, %v; want %d", c.what, n, err, c.want)
		}
	}
}

// TestWalkMatchesObjdump walks every compiled Go function of this test
// binary from its entry and checks that the walk reaches its end and lands
// on the instruction boundaries objdump reports. Run it with GOAMD64=v3 as
// well, where the compiler emits VEX-encoded instructions.
func TestWalkMatchesObjdump(t *testing.T) {
	if testing.Short() {
		t.Skip("disassembles the test binary")
	}
	objdump, err := exec.LookPath("objdump")
	if err != nil {
		if os.Getenv("BOUNDED_REQUIRE_TOOLS") == "1" {
			t.Fatal("objdump is required (BOUNDED_REQUIRE_TOOLS=1)")
		}
		t.Skip("no objdump")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ranges, err := std.text()
	if err != nil {
		t.Fatal(err)
	}
	r := ranges[0]
	// The test binary is not position-independent: its addresses are the
	// ones objdump prints.
	cmd := exec.Command(objdump, "-d", "--no-show-raw-insn", exe)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	starts := map[uintptr]bool{}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		i := bytes.IndexByte(line, ':')
		if i < 0 || len(line) < 2 || line[0] != ' ' {
			continue
		}
		a, err := strconv.ParseUint(string(bytes.TrimSpace(line[:i])), 16, 64)
		if err == nil {
			starts[uintptr(a)] = true
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	funcs, walked := 0, 0
	for pc := r.lo; pc < r.hi; {
		f := runtime.FuncForPC(pc)
		if f == nil || f.Entry() != pc {
			pc++
			continue
		}
		end := funcEnd(r, pc)
		if file, _ := f.FileLine(pc); !strings.HasSuffix(file, ".s") && starts[pc] {
			funcs++
			code := mem(pc, end-pc)
			for off := 0; off < len(code); {
				n, err := (amd64{}).instLen(code[off:])
				if err != nil {
					t.Errorf("%s+%#x: %v", f.Name(), off, err)
					break
				}
				if !starts[pc+uintptr(off)] {
					t.Errorf("%s+%#x: the walk lands inside an instruction objdump decoded", f.Name(), off)
					break
				}
				off += n
				if off == len(code) {
					walked++
				}
			}
		}
		pc = end
	}
	t.Logf("%d compiled Go functions walked to their end of %d, in step with objdump", walked, funcs)
	if funcs < 1000 || walked != funcs {
		t.Errorf("walked %d of %d functions", walked, funcs)
	}
}

// TestConfirmRefusesUnwalkable: a function the decoder cannot walk to its
// end yields no site, even for a call before the point where it fails,
// and records nothing.
func TestConfirmRefusesUnwalkable(t *testing.T) {
	for _, c := range []struct {
		what string
		tail []byte
		ok   bool
	}{
		{"walkable", []byte{0x90, 0xC3}, true},
		{"EVEX after the call", []byte{0x62, 0xF1, 0x7C, 0x48, 0x10, 0x00, 0xC3}, false},
		{"an instruction past the end", []byte{0x90, 0xE8, 0x00}, false},
	} {
		code := append([]byte{0xE8, 0, 0, 0, 0}, c.tail...) // CALL to the next instruction
		lo := uintptr(unsafe.Pointer(&code[0]))
		target := lo + 5
		e := newEngine(arch)
		r := textRange{lo, lo + uintptr(len(code))}
		got, err := e.confirm(r, lo, r.hi, []uintptr{lo}, target)
		if c.ok != (err == nil) || c.ok != (len(got) == 1) || c.ok != (len(e.verified) == 1) {
			t.Errorf("%s: confirm = %#x, %v; %d recorded", c.what, got, err, len(e.verified))
		}
		runtime.KeepAlive(code)
	}
}

// FuzzInstLen: the decoder never panics, and a length it reports is that
// of a whole instruction inside the code (1 to 15 bytes).
func FuzzInstLen(f *testing.F) {
	for _, v := range vexVectors {
		b, _ := hex.DecodeString(strings.ReplaceAll(v[0], " ", ""))
		f.Add(b)
	}
	f.Add([]byte{0xF3, 0x0F, 0x1E, 0xFA})
	f.Add([]byte{0x67, 0xC4, 0xE3, 0x7D, 0x18, 0x44, 0x24})
	f.Add([]byte{0xE8, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, code []byte) {
		n, err := (amd64{}).instLen(code)
		if err == nil && (n < 1 || n > 15 || n > len(code)) {
			t.Fatalf("instLen(% x) = %d", code, n)
		}
	})
}
