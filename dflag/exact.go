package dflag

import "regexp"

// Patterns match a prefix of the full name kind:name@file:line, so
// "breaker:recs" also selects breaker:recs_v2. To select one name exactly,
// end the pattern at the '@' that follows every name: "breaker:recs@"
// selects every declaration (and call site) named recs of kind breaker,
// and nothing else. The helpers below build such patterns with the name
// quoted, and the methods on *Flag switch exactly one record.

// NamePattern returns the pattern that selects exactly the records named
// name of kind (every declaration and call site with that name), with any
// regular-expression characters in either quoted: NamePattern("parser",
// "v2") is "parser:v2@", which does not select parser:v2_beta.
func NamePattern(kind, name string) string {
	return regexp.QuoteMeta(kind+":"+name) + "@"
}

// Pattern returns the pattern that selects exactly the records with f's
// full name: f itself, and other call sites on the same source line.
func (f *Flag) Pattern() string { return regexp.QuoteMeta(f.full) + "$" }

// Activate increments f's activation count, as [Activate] would for a
// pattern that selects f alone (an unhooked flag ignores it). The error
// is a *[SwitchError] when f is a call site the engine could not switch.
func (f *Flag) Activate() error { return controlFlag(OpActivate, f) }

// Deactivate decrements f's activation count (it stays at zero), as
// [Deactivate] would for f alone.
func (f *Flag) Deactivate() error { return controlFlag(OpDeactivate, f) }

// Unhook increments f's unhook count, as [Unhook] would for f alone.
func (f *Flag) Unhook() error { return controlFlag(OpUnhook, f) }

// Rehook decrements f's unhook count (it stays at zero), as [Rehook] would
// for f alone.
func (f *Flag) Rehook() error { return controlFlag(OpRehook, f) }

// controlFlag applies op to f alone.
func controlFlag(op Op, f *Flag) error {
	reg.mu.Lock()
	ev := Event{Op: op, Pattern: f.Pattern(), Matched: 1}
	op.apply(f)
	var sites []*Flag
	if f.syncHook(&sites) {
		ev.Flipped++
	}
	n, patched, took, err := patchSites(sites)
	ev.Flipped += n
	ev.Patched, ev.PatchTime, ev.Err = patched, took, err
	reg.mu.Unlock()
	notify(ev)
	return ev.error()
}

// ApplyMatched is [Apply] that also returns, for each term, how many
// records it matched, so that a caller (a console, a command line) can
// warn about a term that matches nothing, which Apply accepts as the C
// library does. If a term is malformed, it returns nil and the error and
// applies none.
func ApplyMatched(terms ...string) ([]int, error) {
	parsed, err := parseTerms(terms)
	if err != nil {
		return nil, err
	}
	reg.mu.Lock()
	evs := applyLocked(parsed, nil)
	reg.mu.Unlock()
	notify(evs...)
	matched := make([]int, len(evs))
	for i, ev := range evs {
		matched[i] = ev.Matched
	}
	return matched, eventsError(evs)
}
