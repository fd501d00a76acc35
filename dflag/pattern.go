package dflag

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strings"
)

// A matcher is a compiled pattern, matched against full names anchored at
// offset 0: a name matches when the pattern matches a prefix of it (the C
// library accepts a regexec match only where it starts at offset 0).
//
// Most patterns start with a literal ("request_tracing:", "breaker:recs@"),
// and most records do not start with it: match compares that literal
// first, so a record that cannot match costs a string comparison, and a
// pattern that is all literal needs no regexp at all.
type matcher struct {
	// alts are literals such that every matching name starts with one of
	// them, sorted; a complete alt is a whole branch of the pattern, so a
	// name that starts with it matches without the regexp. Nil means no
	// literal is known: every name is a candidate.
	alts []alt
	// runs are the shortest alts (none a prefix of another): the runs of
	// the sorted index that candidates walks.
	runs []string
	re   *regexp.Regexp // \A(?:pattern), in Perl syntax so that \A anchors for real
	size int            // estimated bytes held, for the cache's bound
}

// alt is one literal a match can start with.
type alt struct {
	s        string
	complete bool // the branch is s itself
}

// maxAlts bounds the literals tracked per pattern: "(a|b|c):x" has three,
// "[0-9][0-9]" a hundred, which is too many to be worth it.
const maxAlts = 16

// setAlts records the literals of the pattern re.
func (m *matcher) setAlts(re *syntax.Regexp) {
	alts := prefixes(re, true)
	slices.SortFunc(alts, func(a, b alt) int { return strings.Compare(a.s, b.s) })
	alts = slices.Compact(alts)
	for _, a := range alts {
		if a.s == "" {
			if a.complete {
				m.alts = []alt{a} // matches every name
			}
			return // no literal to skip records with
		}
	}
	m.alts = alts
	for _, a := range alts { // sorted: a prefix comes before its extensions
		if n := len(m.runs); n == 0 || !strings.HasPrefix(a.s, m.runs[n-1]) {
			m.runs = append(m.runs, a.s)
		}
	}
}

// prefixes returns literals such that every match of re starts with one of
// them. atStart says that re is matched at offset 0, where ^ holds.
func prefixes(re *syntax.Regexp, atStart bool) []alt {
	unknown := []alt{{}}
	switch re.Op {
	case syntax.OpEmptyMatch:
		return []alt{{complete: true}}
	case syntax.OpBeginText, syntax.OpBeginLine:
		return []alt{{complete: atStart}}
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return unknown
		}
		return []alt{{string(re.Rune), true}}
	case syntax.OpCharClass:
		var out []alt
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(out) == maxAlts {
					return unknown
				}
				out = append(out, alt{string(r), true})
			}
		}
		return out
	case syntax.OpCapture:
		return prefixes(re.Sub[0], atStart)
	case syntax.OpAlternate:
		var out []alt
		for _, sub := range re.Sub {
			out = append(out, prefixes(sub, atStart)...)
			if len(out) > maxAlts {
				return unknown
			}
		}
		return out
	case syntax.OpConcat:
		// Each sub's literals are computed once (computing them per
		// alternative so far would cost 16^depth), with ^ taken to hold
		// only while no alternative has consumed anything.
		cur := []alt{{complete: true}}
		for _, sub := range re.Sub {
			start := atStart
			open := false
			for _, a := range cur {
				if a.complete {
					open = true
					start = start && a.s == ""
				}
			}
			if !open {
				break
			}
			ps := prefixes(sub, start)
			var next []alt
			for _, a := range cur {
				if !a.complete {
					next = append(next, a)
					continue
				}
				for _, p := range ps {
					next = append(next, alt{a.s + p.s, p.complete})
				}
			}
			if len(next) > maxAlts {
				for i := range cur {
					cur[i].complete = false // what follows is not tracked
				}
				break
			}
			cur = next
		}
		return cur
	}
	return unknown
}

// candidates returns the runs of records that m can match within kind
// (every kind when kind is ""; m nil matches every record of kind): the
// runs of the name-sorted index that start with one of m's literals, or
// kind's records if they are fewer. buf holds the runs, so that a control
// call allocates nothing for them. Callers still check the kind and
// m.match. reg.mu must be held.
func candidates(kind string, m *matcher, buf *[maxAlts][]*Flag) [][]*Flag {
	all := reg.all
	if kind != "" {
		all = kindFlags(kind)
	}
	runs := buf[:0]
	if m == nil || len(m.runs) == 0 {
		return append(runs, all)
	}
	total := 0
	for _, p := range m.runs { // at most maxAlts
		run := prefixRun(p)
		runs = append(runs, run)
		total += len(run)
	}
	if total >= len(all) {
		return append(buf[:0], all)
	}
	return runs
}

// prefixRun returns the records whose names start with p: they are
// contiguous in the sorted index. reg.mu must be held.
func prefixRun(p string) []*Flag {
	s := reg.sorted
	lo, _ := slices.BinarySearchFunc(s, p, func(f *Flag, p string) int { return strings.Compare(f.full, p) })
	n := sort.Search(len(s)-lo, func(i int) bool { return !strings.HasPrefix(s[lo+i].full, p) })
	return s[lo : lo+n]
}

// match reports whether the pattern matches a prefix of name.
func (m *matcher) match(name string) bool {
	if m.alts == nil {
		return m.re.MatchString(name)
	}
	for _, a := range m.alts {
		if strings.HasPrefix(name, a.s) {
			if a.complete {
				return true
			}
			return m.re.MatchString(name)
		}
	}
	return false
}

// compile returns the matcher for pattern, a POSIX extended regular
// expression anchored at the start of the name as the C library matches,
// from the cache or compiled once. A pattern over a bound (see
// [CheckPattern]) is refused before anything is compiled or cached.
func compile(pattern string) (*matcher, error) {
	if m := cached(pattern); m != nil {
		return m, nil
	}
	m, err := build(pattern)
	if err != nil {
		return nil, &PatternError{Pattern: pattern, Err: err}
	}
	cache(pattern, m)
	return m, nil
}

// build parses pattern with the syntax of [regexp.CompilePOSIX], except that
// ^ and $ mean the start and end of the name (as in POSIX regexec without
// REG_NEWLINE, not of a line), and anchors it at offset 0. The pattern is
// parsed on its own and the anchor is added to the parse tree, so no text of
// the pattern can escape it: "^zzz|tracing" matches only names starting
// with "zzz" or "tracing".
func build(pattern string) (*matcher, error) {
	if len(pattern) > MaxPatternLen {
		return nil, &limitError{fmt.Sprintf("pattern is %d bytes, over the limit of %d: select the flags with a shorter pattern (a literal prefix such as kind: or kind:name@ is the cheapest)", len(pattern), MaxPatternLen)}
	}
	re, err := syntax.Parse(pattern, syntax.POSIX|syntax.OneLine)
	if err != nil {
		return nil, err
	}
	// The cost is counted on the parse tree, before Simplify expands
	// repetitions and before anything is compiled.
	if n := cost(re); n > MaxPatternCost {
		return nil, &limitError{fmt.Sprintf("pattern would compile to more than %d instructions (the limit): repetition counts multiply and add up, so (.{1000}) costs about 2,000; use * or + instead of large {n} counts", MaxPatternCost)}
	}
	// The unsimplified tree: its String nests no deeper than the pattern
	// (a simplified x{0,700} nests 700 deep, over the parser's limit).
	anchored := &syntax.Regexp{Op: syntax.OpConcat, Sub: []*syntax.Regexp{{Op: syntax.OpBeginText}, re}}
	// The Perl syntax of String round-trips every parse tree; Compile's
	// matcher tries \A-anchored programs at offset 0 only.
	c, err := regexp.Compile(anchored.String())
	if err != nil {
		return nil, fmt.Errorf("internal error recompiling the pattern in Perl syntax: %v", err)
	}
	re = re.Simplify()
	m := &matcher{re: c, size: len(pattern) + bytesPerInst*cost(re)}
	m.setAlts(re)
	return m, nil
}

// PatternError reports a pattern that is not a valid POSIX extended
// regular expression, or that is over one of the bounds on pattern size and
// cost (then errors.Is(err, [ErrPatternLimit]) holds).
type PatternError struct {
	Pattern string
	Err     error // from regexp/syntax, or the bound that was hit
}

func (e *PatternError) Error() string { return "dflag: " + e.reason() }

// reason is Error without the prefix, for errors that wrap it.
func (e *PatternError) reason() string {
	p := e.Pattern
	if len(p) > 64 {
		p = p[:64] + "..."
	}
	if errors.Is(e.Err, ErrPatternLimit) {
		return fmt.Sprintf("pattern %q refused: %v", p, e.Err)
	}
	return fmt.Sprintf("invalid pattern %q: %v", p, e.Err)
}

// Unwrap returns the underlying error.
func (e *PatternError) Unwrap() error { return e.Err }

// CheckPattern returns nil if pattern is a valid pattern, or an error that
// says what is wrong with it: a *[PatternError] for a pattern that is not a
// POSIX extended regular expression, or that is over a bound:
// [MaxPatternLen] bytes, or an estimated [MaxPatternCost] instructions
// once compiled (the repetition a{n} costs n times a, and nested
// repetitions multiply). Bounded patterns keep every control call cheap:
// each record's name is matched in time proportional to its length times
// the pattern's cost. Every function that takes a pattern applies the same
// check, and a refused pattern is neither compiled nor cached.
func CheckPattern(pattern string) error {
	_, err := compile(pattern)
	return err
}

// ValidPattern is [CheckPattern].
//
// Deprecated: use CheckPattern; the name reads like a predicate but it
// returns an error.
func ValidPattern(pattern string) error { return CheckPattern(pattern) }

// The bounds on a pattern.
const (
	MaxPatternLen  = 1024 // bytes
	MaxPatternCost = 2000 // estimated instructions of the compiled program
)

// ErrPatternLimit is wrapped by the error for a pattern refused by one of
// the bounds on pattern size and cost (see [CheckPattern]).
var ErrPatternLimit = errors.New("pattern over a limit")

// limitError is a bound that was hit; it wraps ErrPatternLimit.
type limitError struct{ msg string }

func (e *limitError) Error() string        { return e.msg }
func (e *limitError) Is(target error) bool { return target == ErrPatternLimit }

// cost estimates, from above, the number of instructions re compiles to
// after Simplify, saturating above MaxPatternCost.
func cost(re *syntax.Regexp) int {
	add := func(a, b int) int { return min(a+b, MaxPatternCost+1) }
	n := 1
	switch re.Op {
	case syntax.OpLiteral:
		n = max(len(re.Rune), 1)
	case syntax.OpCapture:
		n = add(2, cost(re.Sub[0]))
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		n = add(2, cost(re.Sub[0])) // a nullable x* compiles as (x+)?
	case syntax.OpRepeat:
		// x{n,m} simplifies to n copies of x and m-n nested x?; x{n,}
		// to n copies and x*. Operands are at most MaxPatternCost+1 and
		// 1000 (regexp/syntax's bound on counts): no overflow.
		sub := cost(re.Sub[0])
		if re.Max < 0 {
			n = min(re.Min*sub+sub+2, MaxPatternCost+1)
		} else {
			n = min(re.Min*sub+(re.Max-re.Min)*(sub+1), MaxPatternCost+1)
		}
		n = max(n, 1) // x{0} is an empty match
	case syntax.OpConcat, syntax.OpAlternate:
		for _, s := range re.Sub {
			n = add(n, add(cost(s), 1))
		}
	}
	return n
}
