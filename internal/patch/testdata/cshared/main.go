// Package main is built by TestCShared with -buildmode=c-shared: the C host
// (host/host.c) calls PatchProbe, which switches a call site of the library's
// own off and on and returns NULL, or a message saying what failed.
package main

import "C"

import (
	"fmt"
	"reflect"

	"bounded.dev/internal/patch"
)

var hits int

//go:noinline
func hook() { hits++ }

//go:noinline
func run() { hook() }

//export PatchProbe
func PatchProbe() *C.char {
	if err := probe(); err != nil {
		return C.CString(err.Error())
	}
	return nil
}

func probe() error {
	if err := patch.Status(); err != nil {
		return fmt.Errorf("Status: %v", err)
	}
	target := reflect.ValueOf(hook).Pointer()
	sites, err := patch.Find(target)
	if err != nil {
		return fmt.Errorf("Find: %v", err)
	}
	if len(sites) != 1 || !sites[0].Call {
		return fmt.Errorf("Find: %+v, want one call site in main.run", sites)
	}
	change := []patch.Change{{Addr: sites[0].Addr, Target: target, Call: false}}
	if n, err := patch.Apply(change); err != nil || n != 1 {
		return fmt.Errorf("Apply(off) = %d, %v", n, err)
	}
	run()
	if hits != 0 {
		return fmt.Errorf("the call ran while switched off")
	}
	change[0].Call = true
	if n, err := patch.Apply(change); err != nil || n != 1 {
		return fmt.Errorf("Apply(on) = %d, %v", n, err)
	}
	run()
	if hits != 1 {
		return fmt.Errorf("the call did not resume: %d hits", hits)
	}
	return nil
}

func main() {}
