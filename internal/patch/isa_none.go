//go:build linux && !amd64 && !arm64

package patch

// arch is nil: the engine has no instruction set for this architecture,
// and every function reports ErrUnsupported.
var arch isa
