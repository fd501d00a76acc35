//go:build linux && (amd64 || arm64)

package patch

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// requireTool skips the test when a tool is missing, unless CI requires
// the tools (BOUNDED_REQUIRE_TOOLS=1), where it fails.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("BOUNDED_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s is required (BOUNDED_REQUIRE_TOOLS=1): %v", name, err)
		}
		t.Skipf("no %s: %v", name, err)
	}
	return path
}

// cCompiler returns the C compiler for cgo builds and C hosts, $CC or gcc,
// with the environment a go build needs to use it (cgo is off by default
// when GOARCH is not the host's). A missing gcc fails the test under
// BOUNDED_REQUIRE_TOOLS=1. When the compiler builds for another machine
// than GOARCH (a linux/arm64 test binary under qemu-user, without the
// arm64 cross compiler that .ci/install-arm64cross installs and .ci/run
// names in CC), the test skips, also under BOUNDED_REQUIRE_TOOLS=1:
// emulation is the documented limit of those runs.
func cCompiler(t *testing.T) (cc string, env []string) {
	t.Helper()
	cc = os.Getenv("CC")
	if cc == "" {
		cc = requireTool(t, "gcc")
	}
	out, err := exec.Command(cc, "-dumpmachine").Output()
	if err != nil {
		t.Skipf("%s -dumpmachine: %v", cc, err)
	}
	machine := strings.TrimSpace(string(out))
	want := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	if !strings.HasPrefix(machine, want) {
		t.Skipf("%s builds for %s, not %s (an emulated run): cgo builds need a C compiler for %s (CC=aarch64-linux-gnu-gcc, .ci/install-arm64cross)", cc, machine, runtime.GOARCH, runtime.GOARCH)
	}
	return cc, []string{"CGO_ENABLED=1", "CC=" + cc}
}

// goBuild runs go build with args and the environment env.
func goBuild(t *testing.T, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(requireTool(t, "go"), append([]string{"build"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// interpreter returns the dynamic loader a binary names.
func interpreter(t *testing.T, bin string) string {
	t.Helper()
	ld := interp(t, bin)
	if ld == "" {
		t.Fatalf("%s has no PT_INTERP", bin)
	}
	return ld
}

// interp returns the dynamic loader a binary names, or "" for a static
// binary.
func interp(t *testing.T, bin string) string {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				t.Fatal(err)
			}
			return strings.TrimRight(string(b), "\x00")
		}
	}
	return ""
}

// TestLoaderStarted runs patchprobe as `ld.so ./patchprobe`, where
// /proc/self/exe is the loader, not the program: the engine finds the
// program's text as the mapping that holds its own code.
func TestLoaderStarted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	bin := filepath.Join(t.TempDir(), "patchprobe")
	goBuild(t, nil, "-buildmode=pie", "-o", bin, "bounded.dev/internal/patch/testdata/patchprobe")
	ld := interpreter(t, bin)
	if prefix := os.Getenv("QEMU_LD_PREFIX"); prefix != "" {
		// Under qemu-user the loader is in the prefix; qemu finds it
		// there for the binary's PT_INTERP but not for an exec.
		if _, err := os.Stat(filepath.Join(prefix, ld)); err == nil {
			ld = filepath.Join(prefix, ld)
		}
	}
	if _, err := os.Stat(ld); err != nil {
		t.Skipf("no loader %s: %v", ld, err)
	}
	out := run(t, ld, bin)
	if !strings.HasPrefix(out, "ok: patched main.run") {
		t.Errorf("%s %s: %s", ld, bin, out)
	}
	t.Log(out)
}

// TestCShared builds patchprobe's twin as a -buildmode=c-shared library
// and a C host with gcc (for GOARCH): the library patches its own call
// site.
func TestCShared(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a shared library")
	}
	gcc, env := cCompiler(t)
	dir := t.TempDir()
	lib := filepath.Join(dir, "libprobe.so")
	goBuild(t, env, "-buildmode=c-shared", "-o", lib, "bounded.dev/internal/patch/testdata/cshared")
	if err := os.Rename(filepath.Join(dir, "libprobe.h"), filepath.Join(dir, "probe.h")); err != nil {
		t.Fatal(err)
	}
	host := filepath.Join(dir, "host")
	run(t, gcc, "-o", host, "-I", dir, "testdata/cshared/host/host.c", "-L", dir, "-lprobe", "-Wl,-rpath,"+dir)
	out := run(t, host)
	if !strings.HasPrefix(out, "ok:") {
		t.Errorf("host: %s", out)
	}
	t.Log(out)
}

// TestPlugin loads a plugin into a host program: the plugin's function is
// refused with ErrTextNotFound naming the plugin's file, and the host's
// own call sites still patch.
func TestPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin")
	}
	_, env := cCompiler(t)
	dir := t.TempDir()
	plug, host := filepath.Join(dir, "plug.so"), filepath.Join(dir, "host")
	goBuild(t, env, "-buildmode=plugin", "-o", plug, "bounded.dev/internal/patch/testdata/plugin/plug")
	goBuild(t, env, "-o", host, "bounded.dev/internal/patch/testdata/plugin/host")
	out := run(t, host, plug)
	if !strings.HasPrefix(out, "ok:") || !strings.Contains(out, "the only one whose text it scans") {
		t.Errorf("host: %s", out)
	}
	t.Log(out)
}
