package dflag

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strings"
	"sync"
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
	prefix   string         // every matching name starts with prefix
	complete bool           // the pattern is prefix itself: no regexp needed
	re       *regexp.Regexp // \A(?:pattern), in Perl syntax so that \A anchors for real
}

// candidates returns the records that m can match within kind (every kind
// when kind is ""; m nil matches every record of kind): the run of the
// name-sorted index that starts with m's literal prefix, or kind's records
// if they are fewer. Callers still check the kind and m.match. reg.mu must
// be held.
func candidates(kind string, m *matcher) []*Flag {
	all := reg.all
	if kind != "" {
		all = reg.byKind[kind]
	}
	if m == nil || m.prefix == "" {
		return all
	}
	// Names with the prefix are contiguous in the sorted index.
	s := reg.sorted
	lo, _ := slices.BinarySearchFunc(s, m.prefix, func(f *Flag, p string) int { return strings.Compare(f.full, p) })
	n := sort.Search(len(s)-lo, func(i int) bool { return !strings.HasPrefix(s[lo+i].full, m.prefix) })
	if run := s[lo : lo+n]; len(run) < len(all) {
		return run
	}
	return all
}

// match reports whether the pattern matches a prefix of name.
func (m *matcher) match(name string) bool {
	if len(name) < len(m.prefix) || name[:len(m.prefix)] != m.prefix {
		return false
	}
	return m.complete || m.re.MatchString(name)
}

// literalPrefix returns the literal that every match of re starts with, and
// whether re matches exactly that literal. atStart says that re is matched
// at offset 0, where ^ always holds.
func literalPrefix(re *syntax.Regexp, atStart bool) (prefix string, complete bool) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return "", true
	case syntax.OpBeginText, syntax.OpBeginLine:
		return "", atStart
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return "", false
		}
		return string(re.Rune), true
	case syntax.OpCapture:
		return literalPrefix(re.Sub[0], atStart)
	case syntax.OpConcat:
		var b strings.Builder
		for _, sub := range re.Sub {
			p, c := literalPrefix(sub, atStart && b.Len() == 0)
			b.WriteString(p)
			if !c {
				return b.String(), false
			}
		}
		return b.String(), true
	}
	return "", false
}

// patterns caches compiled patterns: programs tend to reuse a few.
var patterns struct {
	sync.Mutex
	m map[string]*matcher
}

const maxCachedPatterns = 256

// compile compiles pattern, a POSIX extended regular expression, into a
// matcher anchored at the start of the name, as the C library matches.
func compile(pattern string) (*matcher, error) {
	patterns.Lock()
	m, ok := patterns.m[pattern]
	patterns.Unlock()
	if ok {
		return m, nil
	}
	m, err := build(pattern)
	if err != nil {
		return nil, &PatternError{Pattern: pattern, Err: err}
	}
	patterns.Lock()
	if len(patterns.m) >= maxCachedPatterns || patterns.m == nil {
		patterns.m = make(map[string]*matcher)
	}
	patterns.m[pattern] = m
	patterns.Unlock()
	return m, nil
}

// build parses pattern with the syntax of [regexp.CompilePOSIX], except that
// ^ and $ mean the start and end of the name (as in POSIX regexec without
// REG_NEWLINE, not of a line), and anchors it at offset 0. The pattern is
// parsed on its own and the anchor is added to the parse tree, so no text of
// the pattern can escape it: "^zzz|tracing" matches only names starting
// with "zzz" or "tracing".
func build(pattern string) (*matcher, error) {
	re, err := syntax.Parse(pattern, syntax.POSIX|syntax.OneLine)
	if err != nil {
		return nil, err
	}
	re = re.Simplify()
	anchored := &syntax.Regexp{Op: syntax.OpConcat, Sub: []*syntax.Regexp{{Op: syntax.OpBeginText}, re}}
	// The Perl syntax of String round-trips every parse tree; Compile's
	// matcher tries \A-anchored programs at offset 0 only.
	c, err := regexp.Compile(anchored.String())
	if err != nil {
		return nil, fmt.Errorf("internal error recompiling %q: %v", anchored.String(), err)
	}
	m := &matcher{re: c}
	m.prefix, m.complete = literalPrefix(re, true)
	return m, nil
}

// PatternError reports a pattern that is not a valid POSIX extended
// regular expression.
type PatternError struct {
	Pattern string
	Err     error // from regexp
}

func (e *PatternError) Error() string { return "dflag: " + e.reason() }

func (e *PatternError) reason() string {
	return fmt.Sprintf("invalid pattern %q: %v", e.Pattern, e.Err)
}

// Unwrap returns the regexp error.
func (e *PatternError) Unwrap() error { return e.Err }

// ValidPattern reports whether pattern is a valid pattern, with an error
// that says what is wrong if it is not.
func ValidPattern(pattern string) error {
	_, err := compile(pattern)
	return err
}

// ErrPatternLimit is wrapped by the error for a pattern refused by one of
// the bounds on pattern size and cost (see [ValidPattern]).
var ErrPatternLimit = errors.New("pattern over a limit")
