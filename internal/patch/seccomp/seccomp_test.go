//go:build linux

package seccomp

import (
	"errors"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestInstall checks the filter's selection in a child process: by page,
// by direction, with the chosen errno, and only for calls that ask for
// PROT_EXEC (a thread stack made read-write passes).
func TestInstall(t *testing.T) {
	if !Child(t) {
		return
	}
	page := unix.Getpagesize()
	mem, err := unix.Mmap(-1, 0, 3*page, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	p1, p2, p3 := mem[:page], mem[page:2*page], mem[2*page:]
	Require(t, Rule{Page: addr(p1), Write: true})
	if err := Install(Rule{Page: addr(p3), Write: false, Errno: unix.EACCES}); err != nil {
		t.Fatal(err)
	}
	const rwx, rx = unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC, unix.PROT_READ | unix.PROT_EXEC
	for _, c := range []struct {
		what string
		b    []byte
		prot int
		want error
	}{
		{"the filtered page, writable code", p1, rwx, unix.EPERM},
		{"the filtered page, writable data (a thread stack)", p1, unix.PROT_READ | unix.PROT_WRITE, nil},
		{"the filtered page, r-x", p1, rx, nil},
		{"another page, writable code", p2, rwx, nil},
		{"the second filter's page, r-x", p3, rx, unix.EACCES},
		{"the second filter's page, read-only data", p3, unix.PROT_READ, nil},
		{"the second filter's page, writable code", p3, rwx, nil},
	} {
		if err := unix.Mprotect(c.b, c.prot); !errors.Is(err, c.want) && (c.want != nil || err != nil) {
			t.Errorf("%s: mprotect = %v, want %v", c.what, err, c.want)
		}
	}
}

// TestRequireSkipsWhereNotImplemented: Install's ENOSYS error is
// ErrNotImplemented, which Require turns into a skip.
func TestRequireSkipsWhereNotImplemented(t *testing.T) {
	if !Child(t) {
		return
	}
	err := Install(Rule{Write: true})
	if err == nil {
		t.Log("seccomp(2) works here; the filter is installed in this child only")
		return
	}
	if errors.Is(err, unix.ENOSYS) != errors.Is(err, ErrNotImplemented) {
		t.Errorf("Install = %v: ENOSYS and ErrNotImplemented must go together", err)
	}
	t.Logf("Install = %v", err)
}

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }
