//go:build linux

package seccomp

import (
	"errors"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestInstall checks the filter's selection in a child process: by page,
// by direction, with the chosen errno.
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
	if err := Install(Rule{Page: addr(p1), Write: true}); err != nil {
		t.Skipf("cannot install a seccomp filter here: %v", err)
	}
	if err := Install(Rule{Page: addr(p3), Write: false, Errno: unix.EACCES}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		b    []byte
		prot int
		want error
	}{
		{"the filtered page, writable", p1, unix.PROT_READ | unix.PROT_WRITE, unix.EPERM},
		{"the filtered page, read-only", p1, unix.PROT_READ, nil},
		{"another page, writable", p2, unix.PROT_READ | unix.PROT_WRITE, nil},
		{"the second filter's page, read-only", p3, unix.PROT_READ, unix.EACCES},
		{"the second filter's page, writable", p3, unix.PROT_READ | unix.PROT_WRITE, nil},
	} {
		if err := unix.Mprotect(c.b, c.prot); !errors.Is(err, c.want) && (c.want != nil || err != nil) {
			t.Errorf("%s: mprotect = %v, want %v", c.what, err, c.want)
		}
	}
}

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }
