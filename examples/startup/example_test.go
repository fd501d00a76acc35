package startup_test

import (
	"fmt"

	"bounded.dev/dflag"
	"bounded.dev/examples/startup"
)

// Start-up loads the registry without locks; workers, started after the
// steady state is entered, lock.
func Example() {
	dflag.Init()
	r, steady, wait := startup.Start(
		func(r *startup.Registry) { // single-threaded start-up
			r.Set("hits", 0)
		},
		func(r *startup.Registry) { r.Add("hits", 1) },
		func(r *startup.Registry) { r.Add("hits", 1) },
	)
	wait()
	fmt.Println(r.Get("hits"))
	steady.Exit() // only tests and examples leave the steady state
	// Output:
	// 2 true
}
