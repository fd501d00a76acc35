//go:build linux && (amd64 || arm64)

package patch

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestBuildModes builds testdata/patchprobe in every build mode the engine
// must support and runs it: the program patches its own call site and
// fails unless the call stops and resumes. (go test binaries are covered by
// the other tests, which run in one.)
func TestBuildModes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds several binaries")
	}
	// go test puts its own GOROOT/bin first in PATH.
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	modes := []struct {
		name  string
		flags []string
		cgo   bool // needs a C toolchain for GOARCH
	}{
		{"default", nil, false},
		{"pie", []string{"-buildmode=pie"}, false},
		{"stripped", []string{"-ldflags=-s -w"}, false},
		{"race", []string{"-race"}, runtime.GOARCH != "amd64"}, // cgo, off when cross-building
		{"cover", []string{"-cover"}, false},
		{"trimpath-pie-stripped", []string{"-trimpath", "-buildmode=pie", "-ldflags=-s -w"}, false},
		{"external-linker", []string{"-ldflags=-linkmode=external"}, true},
	}
	if runtime.GOARCH == "amd64" {
		modes = append(modes, struct {
			name  string
			flags []string
			cgo   bool
		}{"goamd64-v3", nil, false}) // VEX instructions in compiled Go
	}
	dir := t.TempDir()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			var cgoEnv []string
			if m.cgo {
				_, cgoEnv = cCompiler(t)
			}
			bin := filepath.Join(dir, m.name)
			args := append([]string{"build", "-o", bin}, m.flags...)
			args = append(args, "bounded.dev/internal/patch/testdata/patchprobe")
			start := time.Now()
			build := exec.Command(gocmd, args...)
			build.Env = append(build.Environ(), cgoEnv...)
			if m.name == "goamd64-v3" {
				build.Env = append(build.Environ(), "GOAMD64=v3")
			}
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			built := time.Since(start)
			if ld := interp(t, bin); ld != "" {
				if _, err := os.Stat(ld); err != nil {
					// A linux/arm64 test binary under qemu-user on an
					// amd64 machine without arm64 libc (.ci/run points
					// QEMU_LD_PREFIX at libc6-arm64-cross): emulation is
					// the documented limit, so this skips also in CI.
					t.Skipf("a %s build needs its loader %s: %v", m.name, ld, err)
				}
			}
			run := exec.Command(bin)
			run.Env = append(run.Environ(), "GOCOVERDIR="+t.TempDir())
			out, err := run.CombinedOutput()
			if err != nil && strings.Contains(string(out), "microarchitecture support") {
				t.Skipf("this CPU cannot run a %s build: %s", m.name, out)
			}
			if err != nil && strings.Contains(string(out), "ThreadSanitizer: unsupported VMA range") {
				// qemu-user gives the guest a 39-bit address space,
				// which the arm64 race runtime does not support.
				t.Skipf("the race detector cannot run under this emulator: %s", out)
			}
			if err != nil {
				t.Fatalf("%s: %v\n%s", m.name, err, out)
			}
			t.Logf("built in %v: %s", built.Round(time.Millisecond), strings.TrimSpace(string(out)))
		})
	}
}

// TestAssembly builds and runs testdata/asmprobe: a function called from
// assembly has one site, in its ABI0 wrapper, reported with Wrapper and
// its declaration's line; calls written in assembly are refused with the
// reason (on amd64 behind VZEROUPPER and ENDBR64, on arm64 around a
// literal pool); a JMP (B on arm64) is no call site.
func TestAssembly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	bin := filepath.Join(t.TempDir(), "asmprobe")
	goBuild(t, nil, "-o", bin, "bounded.dev/internal/patch/testdata/asmprobe")
	out := run(t, bin)
	if !strings.HasPrefix(out, "ok:") {
		t.Errorf("asmprobe: %s", out)
	}
	t.Log(out)
}
