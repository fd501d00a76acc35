package dflag

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"runtime"
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
		{"(a{2}|b{3,}){2,4}c?", "aabbbc"},
		{"(x*){3}y+", "xxy"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if strings.ContainsRune(name, '\n') || len(name) > 1024 {
			return // names never hold a newline (checkName refuses it), and are short
		}
		m, err := compile(pattern)
		if errors.Is(err, ErrPatternLimit) {
			return // refused by a bound, not by the syntax
		}
		ref, refErr := regexp.CompilePOSIX(pattern)
		if refErr != nil {
			if err == nil {
				t.Fatalf("compile(%q) accepted a pattern CompilePOSIX refuses: %v", pattern, refErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("compile(%q): %v; CompilePOSIX accepts it", pattern, err)
		}
		// The cost estimate bounds the compiled program from above.
		re, _ := syntax.Parse(pattern, syntax.POSIX|syntax.OneLine)
		if prog, err := syntax.Compile(re.Simplify()); err == nil && len(prog.Inst) > cost(re)+2 {
			t.Fatalf("pattern %q compiles to %d instructions, cost estimated %d", pattern, len(prog.Inst), cost(re))
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
		register(newFlag(ModeFeature, "cand", fmt.Sprintf("r%d", i%7), "", "x.go", i, 0))
		register(newFlag(ModeFeature, "cand_b", fmt.Sprintf("r%d", i%5), "", "x.go", i, 0))
	}
	for _, p := range []string{"", "cand", "cand:", "cand_b:r1", "cand:r1@", "cand:r1@x.go:8$", "cand:r[12]", ".*r1", "cand_b:r4@x.go:29", "zzz", "cand:r9", "c", "(cand|cand_b):r1", "cand:r[12]@", "^zzz|cand:r1", "cand(_b)?:r[34]", "(cand:r1|cand:r1@x)", "cand:r1@x.go:[0-9]+$", "a|", "cand:r(1||2)"} {
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
			var buf [maxAlts][]*Flag
			for _, run := range candidates(kind, m, &buf) {
				for _, f := range run {
					if (kind == "" || f.kind == kind) && m.match(f.full) {
						got = append(got, f)
					}
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

// TestPatternBombsAreRefusedCheaply pins issue 10 item 4 (the dflag part):
// a pattern over a bound is refused with an error naming the bound, before
// it is compiled, and leaves nothing in the cache.
func TestPatternBombsAreRefusedCheaply(t *testing.T) {
	for _, c := range []struct{ pattern, says string }{
		{strings.Repeat("(.{1000})", 3000), "over the limit of 1024"}, // the 27 KB bomb
		{"(.{1000})(.{1000})", "more than 2000 instructions"},
		{strings.Repeat("(.{1000})", 100), "more than 2000 instructions"}, // 900 bytes
		{"[a-z]{1000}[a-z]{1000}b", "more than 2000 instructions"},
		// regexp/syntax's own bounds on a repeat count and on nested repeats.
		{"[a-z]{1001}", "invalid repeat count"},
		{"((a{10}){10}){11}", "invalid repeat count"},
	} {
		patterns.Lock()
		n, bytes := len(patterns.m), patterns.bytes
		patterns.Unlock()
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		err := ValidPattern(c.pattern)
		runtime.ReadMemStats(&ms1)
		if err == nil || !strings.Contains(err.Error(), c.says) || strings.Count(err.Error(), "dflag:") != 1 {
			t.Errorf("ValidPattern(%.40q...) = %v; want an error saying %q", c.pattern, err, c.says)
		}
		if c.says != "invalid repeat count" && !errors.Is(err, ErrPatternLimit) {
			t.Errorf("ValidPattern(%.40q...): %v does not wrap ErrPatternLimit", c.pattern, err)
		}
		if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 256<<10 {
			t.Errorf("refusing %.40q... allocated %d bytes", c.pattern, alloc)
		}
		patterns.Lock()
		if len(patterns.m) != n || patterns.bytes != bytes || patterns.m[c.pattern] != nil {
			t.Errorf("refusing %.40q... changed the cache", c.pattern)
		}
		patterns.Unlock()
		if _, err := List(c.pattern); err == nil {
			t.Errorf("List accepted %.40q...", c.pattern)
		}
		if _, err := Activate(c.pattern); err == nil {
			t.Errorf("Activate accepted %.40q...", c.pattern)
		}
		if err := Apply("+" + c.pattern); err == nil || strings.Count(err.Error(), "dflag:") != 1 {
			t.Errorf("Apply accepted %.40q... or prefixed its error twice: %v", c.pattern, err)
		}
	}
	// Just under the bounds is accepted.
	for _, p := range []string{strings.Repeat("a", MaxPatternLen), "(.{100}){8}", "[a-z]{600}", "(x{2}){100}"} {
		if err := ValidPattern(p); err != nil {
			t.Errorf("ValidPattern(%.40q...) = %v", p, err)
		}
	}
}

// TestPatternCacheIsBoundedInBytes fills the cache with large patterns.
func TestPatternCacheIsBoundedInBytes(t *testing.T) {
	for i := range 2 * maxCachedPatterns {
		p := fmt.Sprintf("cache_bound:%d[a-z]{600}", i)
		if _, err := compile(p); err != nil {
			t.Fatal(err)
		}
		patterns.Lock()
		n, bytes := len(patterns.m), patterns.bytes
		patterns.Unlock()
		if n > maxCachedPatterns || bytes > maxCacheBytes {
			t.Fatalf("after %d patterns: %d entries, %d bytes", i+1, n, bytes)
		}
	}
	patterns.Lock()
	defer patterns.Unlock()
	sum := 0
	for _, m := range patterns.m {
		sum += m.size
	}
	if sum != patterns.bytes || len(patterns.m) < 2 {
		t.Errorf("cache accounting: %d entries, sum %d, bytes %d", len(patterns.m), sum, patterns.bytes)
	}
}

// TestLiteralAlternativesAreLinear: finding a pattern's literals costs in
// proportion to its size (nested classes once cost 16^depth: a 43-byte
// pattern took 140 million allocations).
func TestLiteralAlternativesAreLinear(t *testing.T) {
	for _, p := range []string{
		strings.Repeat("[a-p](", 100) + "x" + strings.Repeat(")", 100),
		strings.Repeat("(a|b|c|d)", 100),
		strings.Repeat("(^|[a-p])", 100),
	} {
		if allocs := testing.AllocsPerRun(1, func() { build(p) }); allocs > 100_000 {
			t.Errorf("compiling %.30q... made %.0f allocations", p, allocs)
		}
	}
}
