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
		return nil, fmt.Errorf("dflag: invalid pattern %q: %w", pattern, err)
	}
	anchored := pattern
	if !strings.HasPrefix(pattern, "^") {
		// Grouping keeps alternations anchored: "a|b" becomes "^(a|b)".
		anchored = "^(" + pattern + ")"
	}
	m, err := regexp.CompilePOSIX(anchored)
	if err != nil {
		return nil, fmt.Errorf("dflag: invalid pattern %q: %w", pattern, err)
	}
	patterns.Lock()
	if len(patterns.m) >= maxCachedPatterns || patterns.m == nil {
		patterns.m = make(map[string]matcher)
	}
	patterns.m[pattern] = m
	patterns.Unlock()
	return m, nil
}

// ValidPattern reports whether pattern is a valid pattern, with an error
// that says what is wrong if it is not.
func ValidPattern(pattern string) error {
	_, err := compile(pattern)
	return err
}
