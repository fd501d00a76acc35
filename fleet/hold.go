package fleet

import (
	"errors"
)

// holder is what the bridge needs of an owned hold: the shape of
// dflag.Hold (see dflag.NewHold).
type holder interface {
	Replace(terms ...string) error
	Release() error
}

// newHold makes the hold for one key's owner name. It is a variable so
// that the bridge's own tests can count what it does; everything else uses
// the registry's owned holds.
var newHold = func(owner string) (holder, error) {
	return nil, errors.New("fleet: owned holds are not available in this build of bounded.dev/dflag")
}
