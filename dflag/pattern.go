package dflag

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"sync"
)

// A matcher is a compiled pattern, matched against full names anchored at
// offset 0: a name matches when the pattern matches a prefix of it (the C
// library accepts a regexec match only where it starts at offset 0).
type matcher struct {
	re *regexp.Regexp // \A(?:pattern), in Perl syntax so that \A anchors for real
}

// match reports whether the pattern matches a prefix of name.
func (m *matcher) match(name string) bool { return m.re.MatchString(name) }

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
	return &matcher{re: c}, nil
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
