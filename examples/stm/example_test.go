package stm_test

import (
	"fmt"

	"bounded.dev/examples/stm"
)

func Example() {
	tab := stm.New(8)

	// A writer (which must not be an online reader itself).
	tab.Apply([]stm.Update{{Row: 1, Value: stm.Row{1, 2, 3, 4}}})

	// A reader, on its own goroutine in a real program.
	rd := tab.NewReader()
	defer rd.Close()
	fmt.Println(rd.Read(1)) // a read section of its own
	rd.Quiescent()          // before pausing: no batch waits for this reader
	// Output:
	// [1 2 3 4]
}
