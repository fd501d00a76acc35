// Command host is built by TestPlugin: it opens the plugin built from
// ../plug, checks that the engine refuses the plugin's function with
// ErrTextNotFound and a reason that names the plugin, and that the host's
// own call sites still patch.
package main

import (
	"errors"
	"fmt"
	"os"
	"plugin"
	"strings"

	"bounded.dev/internal/patch"
)

func main() {
	p, err := plugin.Open(os.Args[1])
	if err != nil {
		fail("plugin.Open: %v", err)
	}
	sym, err := p.Lookup("Try")
	if err != nil {
		fail("Lookup: %v", err)
	}
	err = sym.(func() error)()
	if !errors.Is(err, patch.ErrTextNotFound) || !strings.Contains(err.Error(), os.Args[1]) {
		fail("Find(a plugin's function) = %v; want ErrTextNotFound naming %s", err, os.Args[1])
	}
	if err := patch.Status(); err != nil {
		fail("Status in a process with a plugin: %v", err)
	}
	fmt.Printf("ok: %v\n", err)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "host: "+format+"\n", args...)
	os.Exit(1)
}
