// Package main is built by TestPlugin with -buildmode=plugin: Try asks the
// host's engine for the call sites of a function of the plugin.
package main

import (
	"reflect"

	"bounded.dev/internal/patch"
)

//go:noinline
func hook() {}

//go:noinline
func run() { hook() }

// Try returns the engine's answer for hook, a function of the plugin.
func Try() error {
	run()
	_, err := patch.Find(reflect.ValueOf(hook).Pointer())
	return err
}

func main() {}
