package dflag

import "slices"

// Flags returns the records whose full name matches pattern, in [List]'s
// order, so that code can switch exactly the records it found (with
// [Flag.Activate] and the other methods) and later exactly those again.
func Flags(pattern string) ([]*Flag, error) {
	m, err := compile(pattern)
	if err != nil {
		return nil, err
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	var fs []*Flag
	var buf [maxAlts][]*Flag
	for _, run := range candidates("", m, &buf) {
		for _, f := range run {
			if m.match(f.full) {
				fs = append(fs, f)
			}
		}
	}
	slices.SortFunc(fs, compareFlags)
	return fs, nil
}

// ResetCounts sets every record's counts back to what its constructor and
// the kind holds in force give it: activation 1 for a Default record and 0
// otherwise, plus one per kind-wide hold of its kind ([HoldKind],
// [KindHold]), and unhook 0. Live [Hold]s stay in force, and the startup
// terms Init applied are undone (and forgotten as owners). It is for tests, which share the process-wide
// registry: package dflagtest calls it between tests. A program has no use
// for it; an operator's unhooks and trips are counts it would erase. The
// error reports call sites that could not be switched.
func ResetCounts() error {
	reg.mu.Lock()
	for _, f := range reg.all {
		f.activation = f.kindHeld
		if f.mode == ModeDefault {
			f.activation++
		}
		f.unhook = 0
		f.startup = nil
	}
	ev := Event{Op: OpReset, Matched: len(reg.all)}
	ev.Flipped, ev.Patched, ev.PatchTime, ev.Err = syncLocked(reg.all)
	reg.mu.Unlock()
	notify(ev)
	return ev.error()
}
