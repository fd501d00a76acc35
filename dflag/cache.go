package dflag

import "sync"

// patterns caches compiled patterns (programs tend to reuse a few), bounded
// in bytes and in entries: the estimate of what each matcher holds counts
// against maxCacheBytes, and an entry that would go over evicts others.
var patterns struct {
	sync.Mutex
	m     map[string]*matcher
	bytes int // sum of the entries' size
}

const (
	maxCachedPatterns = 256
	maxCacheBytes     = 1 << 20
	bytesPerInst      = 64 // a compiled instruction with its share of the regexp's tables
)

// cached returns the cached matcher for pattern, or nil.
func cached(pattern string) *matcher {
	patterns.Lock()
	defer patterns.Unlock()
	return patterns.m[pattern]
}

// cache stores m for pattern, evicting arbitrary entries (map order) until
// both bounds hold.
func cache(pattern string, m *matcher) {
	if m.size > maxCacheBytes {
		return
	}
	patterns.Lock()
	defer patterns.Unlock()
	if patterns.m == nil {
		patterns.m = make(map[string]*matcher)
	}
	if old, ok := patterns.m[pattern]; ok {
		patterns.bytes -= old.size
		delete(patterns.m, pattern)
	}
	for p, old := range patterns.m {
		if len(patterns.m) < maxCachedPatterns && patterns.bytes+m.size <= maxCacheBytes {
			break
		}
		patterns.bytes -= old.size
		delete(patterns.m, p)
	}
	patterns.m[pattern] = m
	patterns.bytes += m.size
}
