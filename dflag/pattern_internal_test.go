package dflag

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
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

// TestCandidatesAgreeWithAFullScan checks that the prefix index selects
// exactly the records a scan of every record with the matcher selects.
func TestCandidatesAgreeWithAFullScan(t *testing.T) {
	for i := range 30 {
		register(newFlag(FeatureMode, "cand", fmt.Sprintf("r%d", i%7), "", "x.go", i, 0))
		register(newFlag(FeatureMode, "cand_b", fmt.Sprintf("r%d", i%5), "", "x.go", i, 0))
	}
	for _, p := range []string{"", "cand", "cand:", "cand_b:r1", "cand:r1@", "cand:r1@x.go:8$", "cand:r[12]", ".*r1", "cand_b:r4@x.go:29", "zzz", "cand:r9", "c"} {
		m, err := compile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"", "cand", "cand_b"} {
			reg.mu.Lock()
			var want, got []*Flag
			for _, f := range reg.all {
				if (kind == "" || f.kind == kind) && m.match(f.full) {
					want = append(want, f)
				}
			}
			for _, f := range candidates(kind, m) {
				if (kind == "" || f.kind == kind) && m.match(f.full) {
					got = append(got, f)
				}
			}
			reg.mu.Unlock()
			slices.SortFunc(got, func(a, b *Flag) int { return a.seq - b.seq })
			if !slices.Equal(got, want) {
				t.Errorf("pattern %q kind %q: candidates give %d records, a full scan %d", p, kind, len(got), len(want))
			}
		}
	}
}
