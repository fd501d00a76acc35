package dflag

import (
	"bufio"
	"cmp"
	"io"
	"slices"
	"strconv"
	"strings"
)

// State is a snapshot of one flag record.
type State struct {
	Name       string  // kind:name@file:line
	Kind       string  // the kind
	Flag       string  // the name within the kind
	Doc        string  // docstring, "" if none
	File       string  // import-path-qualified source file
	Line       int     // source line
	Mode       Mode    // constructor
	On         bool    // current value
	Activation uint64  // activation count
	Unhook     uint64  // unhook count
	Addr       uintptr // address of the patched CALL for a call site, 0 for a hook flag
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
	return State{
		Name: f.full, Kind: f.kind, Flag: f.name, Doc: f.doc, File: f.file, Line: f.line,
		Mode: f.mode, On: f.on.Load(), Activation: f.activation, Unhook: f.unhook, Addr: f.addr,
	}
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
	for _, f := range candidates("", m) {
		if m.match(f.full) {
			fs = append(fs, f)
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
