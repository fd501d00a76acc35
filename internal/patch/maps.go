//go:build linux

package patch

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// textRange is a run of adjacent executable mappings of one file.
type textRange struct{ lo, hi uintptr }

func (r textRange) contains(addr, n uintptr) bool { return r.lo <= addr && addr+n <= r.hi }

func rangeOf(ranges []textRange, addr, n uintptr) (textRange, bool) {
	for _, r := range ranges {
		if r.contains(addr, n) {
			return r, true
		}
	}
	return textRange{}, false
}

// mapping is one line of /proc/self/maps.
type mapping struct {
	lo, hi     uintptr
	perms      string
	dev, inode string
	path       string
}

func (m mapping) exec() bool { return len(m.perms) >= 3 && m.perms[0] == 'r' && m.perms[2] == 'x' }

// sameFile reports whether m and o map the same file.
func (m mapping) sameFile(o mapping) bool {
	if m.inode == "0" || o.inode == "0" {
		return m.lo == o.lo // anonymous: only itself
	}
	return m.dev == o.dev && m.inode == o.inode
}

// parseMappings parses /proc/self/maps; malformed lines are skipped.
func parseMappings(maps []byte) []mapping {
	var out []mapping
	for line := range bytes.Lines(maps) {
		// lo-hi perms offset dev inode [path]; the path may hold spaces.
		f := strings.Fields(string(line))
		if len(f) < 5 {
			continue
		}
		path := strings.TrimSpace(string(line))
		for range 5 {
			_, path, _ = strings.Cut(path, " ")
			path = strings.TrimLeft(path, " ")
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		l, err1 := strconv.ParseUint(lo, 16, 64)
		h, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || l >= h {
			continue
		}
		out = append(out, mapping{lo: uintptr(l), hi: uintptr(h), perms: f[1], dev: f[3], inode: f[4], path: path})
	}
	return out
}

func merge(ranges []textRange) []textRange {
	slices.SortFunc(ranges, func(a, b textRange) int { return cmp.Compare(a.lo, b.lo) })
	var merged []textRange
	for _, r := range ranges {
		if n := len(merged); n > 0 && merged[n-1].hi >= r.lo {
			merged[n-1].hi = max(merged[n-1].hi, r.hi)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// self is an address of the engine's own code.
var self = reflect.ValueOf(probeTarget).Pointer()

// locateText finds the text of the module the engine is linked into: the
// executable mappings of the file that holds the engine's own code. That
// is the program's executable when it is started directly or as
// `ld.so ./prog` (where /proc/self/exe is the loader), and the shared
// library under -buildmode=c-shared.
func locateText() ([]textRange, error) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTextNotFound, err)
	}
	return textOf(parseMappings(maps), self)
}

// textOf returns the merged executable mappings of the file mapped at pc.
func textOf(ms []mapping, pc uintptr) ([]textRange, error) {
	home, ok := mappingAt(ms, pc)
	if !ok || !home.exec() {
		return nil, fmt.Errorf("%w: no executable mapping in /proc/self/maps holds the engine's code at %#x", ErrTextNotFound, pc)
	}
	var ranges []textRange
	for _, m := range ms {
		if m.exec() && m.sameFile(home) {
			ranges = append(ranges, textRange{m.lo, m.hi})
		}
	}
	return merge(ranges), nil
}

func mappingAt(ms []mapping, pc uintptr) (mapping, bool) {
	for _, m := range ms {
		if m.lo <= pc && pc < m.hi {
			return m, true
		}
	}
	return mapping{}, false
}

// moduleOf names the file mapped at pc, for errors.
func moduleOf(pc uintptr) string {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return "an unknown mapping"
	}
	m, ok := mappingAt(parseMappings(maps), pc)
	switch {
	case !ok:
		return "no mapping"
	case m.path == "":
		return "an anonymous mapping"
	}
	return m.path
}
