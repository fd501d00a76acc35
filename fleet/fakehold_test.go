package fleet

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"bounded.dev/dflag"
)

// Until dflag's owned holds land, the tests run on this stand-in: owner
// names are unique while live, terms are validated as dflag validates them.
var fakeOwners sync.Map

type fakeHold struct {
	owner string
	terms []string
}

func (h *fakeHold) Replace(terms ...string) error {
	for _, t := range terms {
		if _, err := dflag.ParseTerms(t); err != nil {
			return err
		}
		if t[0] == '?' {
			return fmt.Errorf("dflag: term %q: a hold cannot rehook", t)
		}
	}
	h.terms = terms
	return nil
}

func (h *fakeHold) Release() error {
	fakeOwners.Delete(h.owner)
	return nil
}

func TestMain(m *testing.M) {
	newHold = func(owner string) (holder, error) {
		if _, dup := fakeOwners.LoadOrStore(owner, true); dup {
			return nil, fmt.Errorf("dflag: owner %q already holds", owner)
		}
		return &fakeHold{owner: owner}, nil
	}
	os.Exit(m.Run())
}
