//go:build !linux

package patch

import (
	"fmt"
	"runtime"
)

var errPlatform = fmt.Errorf("%w: %s/%s: call sites are patched only on linux/amd64 and linux/arm64; they keep calling", ErrUnsupported, runtime.GOOS, runtime.GOARCH)

// Find reports ErrUnsupported: call sites are found only on Linux.
func Find(target uintptr) ([]Site, error) { return nil, errPlatform }

// Apply writes nothing and reports ErrUnsupported; every site keeps
// calling.
func Apply(changes []Change) (written int, err error) {
	for i := range changes {
		changes[i].Calls, changes[i].Err = true, errPlatform
	}
	return 0, errPlatform
}

// Status reports ErrUnsupported: code is patched only on Linux.
func Status() error { return errPlatform }
