package dflag

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// State is a snapshot of one flag record. Its JSON form (see
// [WriteListJSON]) uses the lower-case field names.
type State struct {
	Name       string  `json:"name"`           // kind:name@file:line
	Kind       string  `json:"kind"`           // the kind
	Flag       string  `json:"flag"`           // the name within the kind
	Doc        string  `json:"doc,omitempty"`  // docstring, "" if none
	File       string  `json:"file"`           // import-path-qualified source file
	Line       int     `json:"line"`           // source line
	Mode       Mode    `json:"mode"`           // constructor
	On         bool    `json:"on"`             // current value: for a call site, whether the call runs
	Activation uint64  `json:"activation"`     // activation count
	Unhook     uint64  `json:"unhook"`         // unhook count
	Addr       uintptr `json:"addr,omitempty"` // address of the patched CALL for a call site, 0 for a hook flag
	// Owners are the named contributors to the flag's state, sorted by
	// name: each live [Hold] whose terms match the flag, "kind:<kind>" for
	// [HoldKind] holds (package aspect's activations), and "env:DFLAG" or
	// "env:DFLAG_FILE" for startup terms that [Init] applied (Once: they
	// went into the counts, with the C library's semantics, and later
	// control calls may have changed those).
	Owners []Owner `json:"owners,omitempty"`
}

// Owner is one named contributor to a flag's state (see [State.Owners]).
type Owner struct {
	Name  string   `json:"name"`           // "console:alice", "kind:request_tracing", "env:DFLAG", ...
	Terms []string `json:"terms"`          // its terms that match the flag, such as "+breaker:" or "-breaker:recs@"
	Once  bool     `json:"once,omitempty"` // applied once to the counts at Init, not held
}

// MarshalText returns the mode's name, as String does.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses a mode's name: "feature", "default" or "opt".
func (m *Mode) UnmarshalText(text []byte) error {
	for c := ModeFeature; c <= ModeOpt; c++ {
		if string(text) == c.String() {
			*m = c
			return nil
		}
	}
	return fmt.Errorf("dflag: unknown mode %q: want feature, default or opt", text)
}

// CallSite reports whether the record is a patched call site rather than a
// hook checked with [Flag.On].
func (s State) CallSite() bool { return s.Addr != 0 }

// State returns a snapshot of the flag.
func (f *Flag) State() State {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return f.stateLocked()
}

func (f *Flag) stateLocked() State {
	s := State{
		Name: f.full, Kind: f.kind, Flag: f.name, Doc: f.doc, File: f.file, Line: f.line,
		Mode: f.mode, On: f.on.Load(), Activation: f.activation, Unhook: f.unhook, Addr: f.addr,
	}
	for _, e := range f.holds {
		o := Owner{Name: e.h.owner}
		for i, t := range e.h.parsed {
			if t.m.match(f.full) {
				o.Terms = append(o.Terms, e.h.terms[i])
			}
		}
		s.Owners = append(s.Owners, o)
	}
	if f.kindHeld > 0 {
		s.Owners = appendKindOwners(s.Owners, f.kind)
	}
	for _, st := range f.startup {
		i := slices.IndexFunc(s.Owners, func(o Owner) bool { return o.Once && o.Name == st.source })
		if i < 0 {
			s.Owners = append(s.Owners, Owner{Name: st.source, Once: true})
			i = len(s.Owners) - 1
		}
		s.Owners[i].Terms = append(s.Owners[i].Terms, st.term)
	}
	slices.SortStableFunc(s.Owners, func(a, b Owner) int { return strings.Compare(a.Name, b.Name) })
	return s
}

// List returns the records whose full name matches pattern, sorted as the C
// library lists them: by kind, name and file, then records with the longer
// docstring first, then by line number.
func List(pattern string) ([]State, error) {
	m, err := compile(pattern)
	if err != nil {
		return nil, err
	}
	reg.mu.Lock()
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
	out := make([]State, len(fs))
	for i, f := range fs {
		out[i] = f.stateLocked()
	}
	reg.mu.Unlock()
	return out, nil
}

// compareFlags is the C library's cmp_patches_alpha, with registration
// order as the final tie-break so listings are deterministic.
func compareFlags(a, b *Flag) int {
	ai := strings.LastIndexByte(a.full, ':')
	bi := strings.LastIndexByte(b.full, ':')
	if ai < 0 || bi < 0 || ai != bi {
		return cmp.Or(strings.Compare(a.full, b.full), cmp.Compare(a.seq, b.seq))
	}
	if r := strings.Compare(a.full[:ai], b.full[:bi]); r != 0 {
		return r
	}
	if a.doc != "" || b.doc != "" {
		switch {
		case a.doc == "":
			return 1
		case b.doc == "":
			return -1
		case len(a.doc) != len(b.doc):
			return cmp.Compare(len(b.doc), len(a.doc))
		}
	}
	return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.seq, b.seq))
}

// WriteList writes the records whose full name matches pattern in the C
// library's format, one per line, records with the same full name once:
//
//	kind:name@file:line (off|N[, unhook=N])[: doc]
func WriteList(w io.Writer, pattern string) error {
	states, err := List(pattern)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for i, s := range states {
		if i > 0 && states[i-1].Name == s.Name {
			continue
		}
		bw.WriteString(s.String())
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// WriteListJSON writes the records whose full name matches pattern as a
// JSON array of [State] values, in [List]'s order, owners included:
//
//	[{"name":"breaker:recs@app/recs.go:12","kind":"breaker","flag":"recs",
//	  "file":"app/recs.go","line":12,"mode":"default","on":false,
//	  "activation":1,"unhook":0,
//	  "owners":[{"name":"etcd:/dflag/breakers","terms":["-breaker:recs@"]}]}]
func WriteListJSON(w io.Writer, pattern string) error {
	states, err := List(pattern)
	if err != nil {
		return err
	}
	if states == nil {
		states = []State{}
	}
	return json.NewEncoder(w).Encode(states)
}

// String formats the state as one line of the C library's listing.
func (s State) String() string {
	var b strings.Builder
	b.WriteString(s.Name)
	b.WriteString(" (")
	if s.Activation > 0 {
		b.WriteString(strconv.FormatUint(s.Activation, 10))
	} else {
		b.WriteString("off")
	}
	if s.Unhook > 0 {
		b.WriteString(", unhook=")
		b.WriteString(strconv.FormatUint(s.Unhook, 10))
	}
	b.WriteByte(')')
	if s.Doc != "" {
		b.WriteString(": ")
		b.WriteString(s.Doc)
	}
	return b.String()
}

// appendKindOwners appends the owners of kind's kind-wide holds: each
// [KindHold] owner, and "kind:<kind>" for [HoldKind] holds; reg.mu must be
// held.
func appendKindOwners(owners []Owner, kind string) []Owner {
	terms := []string{"+" + kind + ":"}
	k := reg.kinds[kind]
	if k == nil {
		return owners
	}
	named := uint64(0)
	for _, o := range k.owners {
		if o.n > 0 && !slices.ContainsFunc(owners, func(e Owner) bool { return e.Name == o.name }) {
			owners = append(owners, Owner{Name: o.name, Terms: terms})
		}
		named += o.n
	}
	if k.holds > named && !slices.ContainsFunc(owners, func(e Owner) bool { return e.Name == "kind:"+kind }) {
		owners = append(owners, Owner{Name: "kind:" + kind, Terms: terms})
	}
	return owners
}
