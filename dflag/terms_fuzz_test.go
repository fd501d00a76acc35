package dflag_test

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"bounded.dev/dflag"
)

var fuzzFlags = []*dflag.Flag{
	dflag.Feature("fuzz", "feature"),
	dflag.Default("fuzz", "breaker"),
	dflag.Opt("fuzz_kind", "advice"),
}

// FuzzHoldRoundTrip parses a startup specification; a malformed one is an
// error prefixed once that changes nothing, and a valid one, put in force
// by a hold and released, leaves every record exactly as it was.
func FuzzHoldRoundTrip(f *testing.F) {
	for _, s := range []string{
		"+fuzz: -fuzz:breaker@ !fuzz_kind:",
		`+"fuzz:.* x" -` + "`a\\.b`",
		"?fuzz:", "+(", "+fuzz:\"", "!^zzz|fuzz", "-.", "+fuzz: +fuzz:", "", "  \t+fuzz_kind:advice@  ",
		"+(.{1000})(.{1000})",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		before, err := dflag.List("")
		if err != nil {
			t.Fatal(err)
		}
		terms, err := dflag.ParseTerms(spec)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "dflag: ") || strings.Count(err.Error(), "dflag:") != 1 {
				t.Fatalf("ParseTerms(%q) error %q: want one dflag: prefix", spec, err)
			}
			if after, _ := dflag.List(""); !reflect.DeepEqual(before, after) {
				t.Fatalf("a malformed spec %q changed state", spec)
			}
			return
		}
		h, err := dflag.NewHold("fuzz:roundtrip")
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Replace(terms...); err != nil && !strings.Contains(err.Error(), "cannot rehook") {
			t.Fatalf("Replace(%q) = %v", terms, err)
		}
		if err := h.Release(); err != nil {
			t.Fatal(err)
		}
		if after, _ := dflag.List(""); !reflect.DeepEqual(before, after) {
			t.Fatalf("holding %q and releasing it changed state", terms)
		}
	})
}

// FuzzParseTermsFile: any file either parses into terms that each parse
// again, or fails with an error prefixed once.
func FuzzParseTermsFile(f *testing.F) {
	for _, s := range []string{"# comment\n+a:\n\n-b: !c\n", "+(\n", "+\"unterminated\n", "\x00", "+a:\r\n-b:"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		terms, err := dflag.ParseTermsFile(data)
		if err != nil {
			if strings.Count(err.Error(), "dflag:") != 1 {
				t.Fatalf("error %q: want one dflag: prefix", err)
			}
			return
		}
		for _, term := range terms {
			again, err := dflag.ParseTerms(quote(term))
			if err != nil || len(again) != 1 || again[0] != term {
				t.Fatalf("term %q from the file parses again as %q, %v", term, again, err)
			}
		}
	})
}

// quote writes a term so that ParseTerms reads it back as one term.
func quote(term string) string {
	return term[:1] + strconv.Quote(term[1:])
}
