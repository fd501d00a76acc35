package dflag

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// A Hold is an owner's set of terms in force: the declarative counterpart
// of the C library's cumulative counts, for contributors that say "while
// this is in force, these terms hold" (an operator's console session, a
// remote key, a traced request, a phase window). Replacing the set applies
// only the difference, and releasing it restores exactly what it changed,
// so holds compose with each other and with the counts without piling up
// or losing activations.
//
// While a hold is in force, each of its terms means, for each flag its
// pattern matches (flags registered later included):
//
//   - "+re": the owner holds an activation. It is ignored while the flag is
//     unhooked by anyone (an Unhook count or another hold's "!").
//   - "-re": the owner forces the flag off. This beats every activation:
//     the activation count (Default's 1, Activate, kind holds), other
//     owners' "+", and an Opt flag's "on until Init". It is a count of its own, not a deactivation, so that
//     releasing it gives back exactly the state before.
//   - "!re": the owner holds an unhook: other owners' "+" are ignored, and
//     plain [Activate] calls are ignored as the C library's unhook makes
//     them (activations already counted stay, as in the C library: pair
//     "!re" with "-re" to keep a Default flag off).
//   - "?re" is refused: an owner cannot take away someone else's unhook.
//
// A flag is on when no hold forces it off and either its activation count
// is positive (or it is an Opt flag before Init), or some hold's "+" is in
// force while nobody unhooks it. The C library's counts and every existing
// function keep their exact semantics; [State.Owners] shows the holders.
type Hold struct {
	owner    string
	terms    []string
	parsed   []term
	bits     map[*Flag]holdBits // guarded by reg.mu
	released bool               // guarded by reg.mu
}

// holdBits is what one hold's terms say about one flag.
type holdBits uint8

const (
	holdOn     holdBits = 1 << iota // a "+" term matches
	holdOff                         // a "-" term matches
	holdUnhook                      // a "!" term matches
)

// heldBy is one hold's entry on a flag.
type heldBy struct {
	h    *Hold
	bits holdBits
}

// maxOwnerLen bounds owner names, which appear in listings and logs.
const maxOwnerLen = 256

// NewHold returns an empty hold for owner, a short name an operator can
// read ("env:DFLAG", "console:alice", "etcd:/dflag/breakers",
// "request:<id>", "phase:stm"). Owner names are unique while the hold is
// live: a second NewHold with a live owner name is an error, as is an
// empty name, one longer than 256 bytes, or one with a control character.
func NewHold(owner string) (*Hold, error) {
	switch err := checkOwner(owner); {
	case err != nil && (owner == "" || len(owner) > maxOwnerLen):
		return nil, fmt.Errorf("dflag: NewHold: %w", err)
	case err != nil:
		return nil, fmt.Errorf("dflag: NewHold(%q): %w", owner, err)
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if reg.owners[owner] != nil {
		return nil, fmt.Errorf("dflag: NewHold(%q): a hold with this owner is live: release it first, or use another name", owner)
	}
	if reg.owners == nil {
		reg.owners = make(map[string]*Hold)
	}
	h := &Hold{owner: owner, bits: make(map[*Flag]holdBits)}
	reg.owners[owner] = h
	return h, nil
}

// checkOwner checks an owner name (see [NewHold]).
func checkOwner(owner string) error {
	switch {
	case owner == "":
		return errors.New("empty owner name: name the owner, such as console:alice")
	case len(owner) > maxOwnerLen:
		return fmt.Errorf("owner name is %d bytes, over the limit of %d", len(owner), maxOwnerLen)
	case strings.IndexFunc(owner, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0:
		return errors.New("the owner name has a control character")
	}
	return nil
}

// Owner returns the hold's owner name.
func (h *Hold) Owner() string { return h.owner }

// Terms returns the terms in force, as last given to [Hold.Replace].
func (h *Hold) Terms() []string {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return slices.Clone(h.terms)
}

// Matched returns, for each of the hold's terms, how many records it
// matches now (flags registered later included), so that an owner can
// warn about a term that matches nothing, which Replace accepts.
func (h *Hold) Matched() []int {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	out := make([]int, len(h.parsed))
	for i, t := range h.parsed {
		out[i] = countLocked("", t.m)
	}
	return out
}

// Replace validates every term first (the startup syntax, as for
// [ParseTerms] and [Apply]: one operator and one pattern per term); if one
// is malformed, or is a "?" term, it returns an error naming it and nothing
// changes. Otherwise the hold's terms become terms: only the difference is
// applied, under one registry lock, so a flag that both the old and the new
// set keep never flips in between. Replacing with the same terms changes
// nothing and notifies no watcher. The error also reports call sites that
// could not be switched (a *[SwitchError]; the terms are in force all the
// same). Replace on a released hold is an error.
func (h *Hold) Replace(terms ...string) error {
	parsed, err := parseTerms(terms)
	if err != nil {
		return fmt.Errorf("dflag: hold %q: %w", h.owner, unprefixed{err})
	}
	for _, t := range parsed {
		if t.op == OpRehook {
			return fmt.Errorf("dflag: hold %q: term %q: a hold cannot rehook (take away someone else's unhook); use Rehook, or release the hold that unhooks", h.owner, "?"+t.pattern)
		}
	}
	reg.mu.Lock()
	if h.released {
		reg.mu.Unlock()
		return fmt.Errorf("dflag: hold %q is released: make a new one with NewHold", h.owner)
	}
	if slices.Equal(h.terms, terms) {
		reg.mu.Unlock()
		return nil
	}
	ev := h.replaceLocked(terms, parsed, OpHold)
	reg.mu.Unlock()
	notify(ev)
	return ev.error()
}

// Release restores exactly what the hold changed (as Replace with no
// terms) and retires the owner name, which NewHold may then reuse. It is
// idempotent. The error reports call sites that could not be switched.
func (h *Hold) Release() error {
	reg.mu.Lock()
	if h.released {
		reg.mu.Unlock()
		return nil
	}
	ev := h.replaceLocked(nil, nil, OpRelease)
	h.released = true
	delete(reg.owners, h.owner)
	reg.mu.Unlock()
	notify(ev)
	return ev.error()
}

// replaceLocked makes terms the hold's set; reg.mu must be held.
func (h *Hold) replaceLocked(terms []string, parsed []term, op Op) Event {
	next := make(map[*Flag]holdBits)
	for _, t := range parsed {
		var buf [maxAlts][]*Flag
		for _, run := range candidates("", t.m, &buf) {
			for _, f := range run {
				if t.m.match(f.full) {
					next[f] |= t.op.holdBit()
				}
			}
		}
	}
	ev := Event{Op: op, Owner: h.owner, Pattern: strings.Join(terms, " "), Matched: len(next)}
	var sites []*Flag
	change := func(f *Flag, b holdBits) {
		f.setHold(h, b)
		if f.syncHook(&sites) {
			ev.Flipped++
		}
	}
	for f, old := range h.bits {
		if b := next[f]; b != old {
			change(f, b)
		}
	}
	for f, b := range next {
		if _, ok := h.bits[f]; !ok {
			change(f, b)
		}
	}
	h.bits = next
	h.terms = slices.Clone(terms)
	h.parsed = parsed
	n, patched, took, err := patchSites(sites)
	ev.Flipped += n
	ev.Patched, ev.PatchTime, ev.Err = patched, took, err
	return ev
}

// holdBit is the bit a term with op sets.
func (op Op) holdBit() holdBits {
	switch op {
	case OpActivate:
		return holdOn
	case OpDeactivate:
		return holdOff
	case OpUnhook:
		return holdUnhook
	}
	return 0
}

// setHold records what h says about f (0: nothing); reg.mu must be held.
func (f *Flag) setHold(h *Hold, b holdBits) {
	i := slices.IndexFunc(f.holds, func(e heldBy) bool { return e.h == h })
	switch {
	case i < 0 && b != 0:
		f.holds = append(f.holds, heldBy{h, b})
	case i >= 0 && b != 0:
		f.holds[i].bits = b
	case i >= 0:
		f.holds = slices.Delete(f.holds, i, i+1)
	}
}

// holdBits is the union of what every hold says about f.
func (f *Flag) holdBits() holdBits {
	var b holdBits
	for _, e := range f.holds {
		b |= e.bits
	}
	return b
}

// applyHoldsLocked gives a new record the holds in force; reg.mu must be
// held.
func (f *Flag) applyHoldsLocked() {
	for _, h := range reg.owners {
		var b holdBits
		for _, t := range h.parsed {
			if t.m.match(f.full) {
				b |= t.op.holdBit()
			}
		}
		if b != 0 {
			h.bits[f] = b
			f.setHold(h, b)
		}
	}
}
