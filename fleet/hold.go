package fleet

import (
	"bounded.dev/dflag"
)

// holder is what the bridge needs of an owned hold: a *dflag.Hold.
type holder interface {
	Replace(terms ...string) error
	Release() error
}

// newHold makes the hold for one key's owner name. It is a variable so
// that the bridge's tests can count what the bridge asks of its holds.
var newHold = func(owner string) (holder, error) {
	h, err := dflag.NewHold(owner)
	if err != nil {
		return nil, err
	}
	return h, nil
}
