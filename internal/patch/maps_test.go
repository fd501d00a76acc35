//go:build linux

package patch

import (
	"errors"
	"reflect"
	"testing"
)

const sampleMaps = `00400000-00401000 r--p 00000000 fd:01 1234 /bin/my prog
00401000-00500000 r-xp 00001000 fd:01 1234 /bin/my prog
00500000-00510000 r-xp 00100000 fd:01 1234 /bin/my prog
00600000-00700000 rw-p 00200000 fd:01 1234 /bin/my prog
7f0000000000-7f0000100000 r-xp 00000000 fd:01 99 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7f0000200000-7f0000300000 r-xp 00000000 00:00 0 
7f0000400000-7f0000500000 r-xp 00000000 fd:01 55 /tmp/libprobe.so
55550000-55560000 r-xp 00000000 08:02 777 /tmp/go-build/x.test (deleted)
garbage line
ffff-0000 r-xp 00000000 08:02 777 /reversed
`

func TestTextOf(t *testing.T) {
	ms := parseMappings([]byte(sampleMaps))
	if len(ms) != 8 {
		t.Fatalf("parsed %d mappings, want 8 (the malformed lines skipped): %+v", len(ms), ms)
	}
	if ms[0].path != "/bin/my prog" {
		t.Errorf("path with a space: %q", ms[0].path)
	}
	for _, c := range []struct {
		what string
		pc   uintptr
		want []textRange
	}{
		// The program (also when started as ld.so ./prog, where
		// /proc/self/exe is the loader): its two r-x mappings, merged.
		{"program", 0x00450000, []textRange{{0x00401000, 0x00510000}}},
		// A c-shared library: its own mapping, not the executable's.
		{"c-shared", 0x7f0000400010, []textRange{{0x7f0000400000, 0x7f0000500000}}},
		{"deleted test binary", 0x55550000, []textRange{{0x55550000, 0x55560000}}},
		{"anonymous", 0x7f0000200000, []textRange{{0x7f0000200000, 0x7f0000300000}}},
	} {
		got, err := textOf(ms, c.pc)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: textOf(%#x) = %#x, %v; want %#x", c.what, c.pc, got, err, c.want)
		}
	}
	for _, pc := range []uintptr{0x00600000, 0x1000} { // not executable; unmapped
		if _, err := textOf(ms, pc); !errors.Is(err, ErrTextNotFound) {
			t.Errorf("textOf(%#x) = %v, want ErrTextNotFound", pc, err)
		}
	}
}

// TestOwnText: the running test binary's text holds the engine's code.
func TestOwnText(t *testing.T) {
	ranges, err := locateText()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rangeOf(ranges, self, 1); !ok {
		t.Errorf("the text %#x does not hold the engine's code at %#x", ranges, self)
	}
}

func FuzzParseMappings(f *testing.F) {
	f.Add([]byte(sampleMaps))
	f.Add([]byte("0-1 r-x 0 0:0 0\n"))
	f.Add([]byte("1-0 r-xp 0 0:0 0 x\n\n\x00 -"))
	f.Fuzz(func(t *testing.T, maps []byte) {
		ms := parseMappings(maps)
		var ranges []textRange
		for _, m := range ms {
			if m.lo >= m.hi {
				t.Fatalf("mapping %+v is empty or reversed", m)
			}
			ranges = append(ranges, textRange{m.lo, m.hi})
			if h, _ := mappingAt(ms, m.lo); h != m || !m.exec() {
				continue // overlapping lines, which /proc/self/maps never has
			}
			if got, err := textOf(ms, m.lo); err != nil || len(got) == 0 {
				t.Fatalf("textOf(%#x) = %v, %v for an executable mapping", m.lo, got, err)
			}
		}
		merged := merge(ranges)
		for i := 1; i < len(merged); i++ {
			if merged[i-1].hi >= merged[i].lo {
				t.Fatalf("merge left %#x and %#x overlapping or adjacent", merged[i-1], merged[i])
			}
		}
	})
}
