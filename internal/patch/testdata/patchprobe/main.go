// Command patchprobe is built by TestBuildModes in every build mode the
// engine must support: it switches its own call site off and on and exits
// non-zero unless the call stopped and resumed.
package main

import (
	"fmt"
	"os"
	"reflect"

	"bounded.dev/internal/patch"
)

var hits int

//go:noinline
func hook() { hits++ }

//go:noinline
func run() { hook() }

func main() {
	if err := patch.Status(); err != nil {
		fail("Status: %v", err)
	}
	target := reflect.ValueOf(hook).Pointer()
	sites, err := patch.Find(target)
	if err != nil {
		fail("Find: %v", err)
	}
	if len(sites) != 1 || !sites[0].Call {
		fail("Find: %+v, want one call site in main.run", sites)
	}
	s := sites[0]
	change := []patch.Change{{Addr: s.Addr, Target: target, Call: false}}
	if n, err := patch.Apply(change); err != nil || n != 1 {
		fail("Apply(off) = %d, %v", n, err)
	}
	run()
	if hits != 0 {
		fail("the call ran while switched off")
	}
	change[0].Call = true
	if n, err := patch.Apply(change); err != nil || n != 1 {
		fail("Apply(on) = %d, %v", n, err)
	}
	run()
	if hits != 1 {
		fail("the call did not resume: %d hits", hits)
	}
	fmt.Printf("ok: patched %s at %#x (%s:%d)\n", s.Func, s.Addr, s.File, s.Line)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "patchprobe: "+format+"\n", args...)
	os.Exit(1)
}
