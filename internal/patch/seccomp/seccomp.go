//go:build linux

// Package seccomp installs seccomp filters that make mprotect fail, for
// the fault-injection tests of the call-site engine and its users. A
// filter applies to every thread of the process (SECCOMP_FILTER_FLAG_TSYNC)
// and can never be removed, so tests install it in a child process: see
// [Child].
package seccomp

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Rule says which mprotect calls fail, and how. Only calls that ask for
// PROT_EXEC are ever refused: the mprotect calls of the C library and the
// Go runtime on data (glibc makes every new thread's stack read-write
// with one, and race and cgo builds create threads with pthread_create)
// pass, so that a filtered process can still start threads.
type Rule struct {
	// Page, if not zero, restricts the rule to mprotect calls whose
	// address argument is exactly Page.
	Page uintptr
	// Write selects the calls that ask for PROT_WRITE|PROT_EXEC (making
	// code writable); otherwise the calls that ask for PROT_EXEC without
	// PROT_WRITE (restoring r-x).
	Write bool
	// Errno is what the refused call returns (EPERM if zero).
	Errno unix.Errno
}

// seccomp_data offsets (linux/seccomp.h), little-endian.
const (
	offNr    = 0
	offArch  = 4
	offArg0  = 16 // low word; high word at +4
	offArg2  = 32 // prot, low word
	auditArm = unix.AUDIT_ARCH_AARCH64
	auditX86 = unix.AUDIT_ARCH_X86_64
)

// ErrNotImplemented is wrapped by the error Install returns when the
// kernel, or the emulator the process runs under, does not implement
// seccomp(2): qemu-user (linux/arm64 tests on an amd64 machine) answers
// ENOSYS.
var ErrNotImplemented = errors.New("seccomp(2) is not implemented here")

// Install adds a filter that makes the mprotect calls rule selects fail;
// every other system call is allowed. The error wraps the errno, and
// ErrNotImplemented when the errno is ENOSYS.
func Install(rule Rule) error {
	var audit uint32
	switch runtime.GOARCH {
	case "amd64":
		audit = auditX86
	case "arm64":
		audit = auditArm
	default:
		return fmt.Errorf("seccomp: no audit architecture for %s", runtime.GOARCH)
	}
	errno := rule.Errno
	if errno == 0 {
		errno = unix.EPERM
	}
	ld := func(off uint32) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off}
	}
	// Jumps are relative to the next instruction; 0xFF marks a jump to
	// "allow", the last instruction, resolved at the end.
	var prog []unix.SockFilter
	jumpAllowIfNot := func(k uint32) {
		prog = append(prog, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: k, Jf: 0xFF})
	}
	prog = append(prog, ld(offArch))
	jumpAllowIfNot(audit)
	prog = append(prog, ld(offNr))
	jumpAllowIfNot(uint32(unix.SYS_MPROTECT))
	if rule.Page != 0 {
		prog = append(prog, ld(offArg0))
		jumpAllowIfNot(uint32(rule.Page))
		prog = append(prog, ld(offArg0+4))
		jumpAllowIfNot(uint32(uint64(rule.Page) >> 32))
	}
	prog = append(prog, ld(offArg2))
	// JSET PROT_EXEC: data, not code, when the bit is clear: allow.
	prog = append(prog, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, K: unix.PROT_EXEC, Jf: 0xFF})
	// JSET PROT_WRITE: jt when the bit is set.
	jset := unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, K: unix.PROT_WRITE}
	if rule.Write {
		jset.Jf = 0xFF // not writing: allow
	} else {
		jset.Jt = 0xFF // writing: allow
	}
	prog = append(prog, jset)
	prog = append(prog, unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(errno)})
	prog = append(prog, unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW})
	allow := len(prog) - 1
	for i := range prog {
		if prog[i].Jt == 0xFF {
			prog[i].Jt = uint8(allow - i - 1)
		}
		if prog[i].Jf == 0xFF {
			prog[i].Jf = uint8(allow - i - 1)
		}
	}

	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("seccomp: prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	switch {
	case e == unix.ENOSYS:
		return fmt.Errorf("seccomp: seccomp(SET_MODE_FILTER, TSYNC): %w: %w (qemu-user does not emulate it, nor does a kernel built without CONFIG_SECCOMP_FILTER)", ErrNotImplemented, e)
	case e != 0:
		return fmt.Errorf("seccomp: seccomp(SET_MODE_FILTER, TSYNC): %w", e)
	}
	return nil
}

// Require installs the filter for a test, in the child process [Child]
// runs it in. Where seccomp(2) is not implemented (ErrNotImplemented:
// under qemu-user emulation, the documented limit of the arm64 runs) the
// test is skipped with that reason, also when BOUNDED_REQUIRE_TOOLS=1.
// Any other failure skips the test, or fails it when
// BOUNDED_REQUIRE_TOOLS=1 (CI, where the fault tests must run).
func Require(t testing.TB, rule Rule) {
	t.Helper()
	err := Install(rule)
	switch {
	case err == nil:
	case errors.Is(err, ErrNotImplemented):
		t.Skipf("fault injection needs a real kernel: %v", err)
	case os.Getenv("BOUNDED_REQUIRE_TOOLS") == "1":
		t.Fatalf("cannot install a seccomp filter (BOUNDED_REQUIRE_TOOLS=1): %v", err)
	default:
		t.Skipf("cannot install a seccomp filter here: %v", err)
	}
}

// childEnv names the test a child process runs.
const childEnv = "BOUNDED_SECCOMP_CHILD"

// Child runs the calling test in a child process, where the test may
// install filters: it returns true in the child (the test then goes on and
// does its work there), and in the parent it re-executes the test binary
// for this test only, fails t unless the child passed (or skips t, with the
// child's output, when the child skipped), and returns false.
//
//	if seccomp.Child(t) { ...work in the child...; return }
func Child(t *testing.T) bool {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		t.Errorf("child process failed (%v):\n%s", err, out)
	case err != nil:
		t.Fatalf("starting the child process: %v", err)
	case strings.Contains(string(out), "--- SKIP: "+t.Name()):
		t.Skipf("the child process skipped:\n%s", out)
	case !strings.Contains(string(out), "--- PASS: "+t.Name()):
		t.Errorf("the child process did not run %s:\n%s", t.Name(), out)
	default:
		t.Logf("child process:\n%s", out)
	}
	return false
}
