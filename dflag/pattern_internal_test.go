package dflag

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// FuzzPatternAnchored checks the matcher against the C library's rule,
// with the regexp package as the reference: a name matches when the
// leftmost match of the pattern (FindStringIndex under CompilePOSIX) starts
// at offset 0.
func FuzzPatternAnchored(f *testing.F) {
	for _, s := range [][2]string{
		{"^zzz|tracing", "request_tracing:db@a.go:1"},
		{"^zzz|tracing", "tracing:x@a.go:1"},
		{"zzz|^tracing", "request_tracing:db@a.go:1"},
		{"a|b", "ba"},
		{"(^a|b)c", "bc"},
		{"x$", "x"},
		{"x$", "xy"},
		{"", "anything"},
		{"a*", "b"},
		{".*tracing", "request_tracing:db@a.go:1"},
		{"[^:]*:db", "request_tracing:db@a.go:1"},
		{"kind:name@", "kind:name@a.go:3"},
		{"kind:name@", "kind:name_v2@a.go:3"},
		{"k:a\\.b", "k:a.b@x.go:1"},
		{"k:a\\.b", "k:axb@x.go:1"},
		{"(a|ab)(c|bcd)", "abcd"},
		{"^^a", "a"},
		{"a^b", "ab"},
		{"\\bx", "x"},
		{"(?i)x", "X"},
		{"[[:alpha:]]+:", "abc:1"},
		{"a{2,3}", "aaaa"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if strings.ContainsRune(name, '\n') {
			return // names never hold a newline: checkName refuses it
		}
		ref, refErr := regexp.CompilePOSIX(pattern)
		m, err := compile(pattern)
		if refErr != nil {
			if err == nil {
				t.Fatalf("compile(%q) accepted a pattern CompilePOSIX refuses: %v", pattern, refErr)
			}
			return
		}
		if err != nil {
			if errors.Is(err, ErrPatternLimit) {
				return // refused by a bound, not by the syntax
			}
			t.Fatalf("compile(%q): %v; CompilePOSIX accepts it", pattern, err)
		}
		loc := ref.FindStringIndex(name)
		want := loc != nil && loc[0] == 0
		if got := m.match(name); got != want {
			t.Fatalf("pattern %q, name %q: match %v, want %v (FindStringIndex %v)", pattern, name, got, want, loc)
		}
	})
}
