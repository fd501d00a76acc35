package dflag

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// matcher is a compiled, start-anchored pattern.
type matcher = *regexp.Regexp

// patterns caches compiled patterns: programs tend to reuse a few.
var patterns struct {
	sync.Mutex
	m map[string]matcher
}

const maxCachedPatterns = 256

// compile compiles pattern as a POSIX extended regular expression anchored
// at the start of the name, as the C library does.
func compile(pattern string) (matcher, error) {
	patterns.Lock()
	m, ok := patterns.m[pattern]
	patterns.Unlock()
	if ok {
		return m, nil
	}
	if _, err := regexp.CompilePOSIX(pattern); err != nil {
		return nil, &PatternError{Pattern: pattern, Err: err}
	}
	anchored := pattern
	if !strings.HasPrefix(pattern, "^") {
		// Grouping keeps alternations anchored: "a|b" becomes "^(a|b)".
		anchored = "^(" + pattern + ")"
	}
	m, err := regexp.CompilePOSIX(anchored)
	if err != nil {
		return nil, &PatternError{Pattern: pattern, Err: err}
	}
	patterns.Lock()
	if len(patterns.m) >= maxCachedPatterns || patterns.m == nil {
		patterns.m = make(map[string]matcher)
	}
	patterns.m[pattern] = m
	patterns.Unlock()
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
