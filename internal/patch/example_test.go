//go:build linux && (amd64 || arm64)

package patch_test

import (
	"fmt"
	"reflect"

	"bounded.dev/internal/patch"
)

var exampleHits int

//go:noinline
func exampleAdvice() { exampleHits++ }

//go:noinline
func exampleCaller() { exampleAdvice() }

// Find the direct calls to a function, switch them off, run the caller,
// and switch them back on.
func Example() {
	if err := patch.Status(); err != nil {
		fmt.Println(err) // the calls keep running
		return
	}
	target := reflect.ValueOf(exampleAdvice).Pointer()
	sites, err := patch.Find(target)
	if err != nil {
		fmt.Println(err)
		return
	}
	changes := make([]patch.Change, len(sites))
	for i, s := range sites {
		fmt.Println("site in", s.Func)
		changes[i] = patch.Change{Addr: s.Addr, Target: target, Call: false}
	}
	patch.Apply(changes)
	exampleCaller()
	fmt.Println("switched off:", exampleHits, "calls ran; Calls =", changes[0].Calls)

	for i := range changes {
		changes[i].Call = true
	}
	patch.Apply(changes)
	exampleCaller()
	fmt.Println("switched on:", exampleHits, "call ran; Calls =", changes[0].Calls)
	// Output:
	// site in bounded.dev/internal/patch_test.exampleCaller
	// switched off: 0 calls ran; Calls = false
	// switched on: 1 call ran; Calls = true
}
