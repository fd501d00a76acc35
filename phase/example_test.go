package phase_test

import (
	"fmt"
	"sync"

	"bounded.dev/dflag"
	"bounded.dev/phase"
)

// The stm phase: a value, so a misspelt phase is a compile error.
var stm = phase.STM

// A program's own phase, declared once. Its kind, and the dflag kind of its
// advice, is "batch".
var batch = phase.Of("batch")

// The batch phase's advice.
var batchCheck *dflag.Flag = batch.Kind().Opt("check", "consistency check while a batch is applied")

// The advice of the stm phase: a read barrier that readers only need while
// a batch may be half applied.
var exampleBarrier *dflag.Flag = stm.Kind().Opt("example_barrier", "read barrier")

// A writer opens a window around an update; readers skip the advice
// outside windows and announce quiescent states between read sections.
func Example() {
	dflag.Init() // Opt flags are off from here on

	r := phase.Register() // a reader goroutine's handle
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer r.Close()
		for {
			select {
			case <-done:
				return
			default:
			}
			if exampleBarrier.On() {
				_ = 0 // read section with the barrier
			} else {
				_ = 0 // fast path: no barrier
			}
			r.Quiescent() // between read sections
		}
	}()

	fmt.Println("before:", exampleBarrier.On())
	w := stm.Enter() // returns once the reader has passed a quiescent state
	fmt.Println("in the window:", exampleBarrier.On())
	w.Exit()
	w.Exit() // idempotent
	fmt.Println("after:", exampleBarrier.On())

	close(done)
	wg.Wait()
	// Output:
	// before: false
	// in the window: true
	// after: false
}

// A reader goes offline before it blocks, so that no window waits for it.
func ExampleReader_Offline() {
	r := phase.Register()
	defer r.Close()

	r.Offline()
	w := phase.STM.Enter() // does not wait for r
	w.Exit()
	r.Online()
	r.Quiescent()
	fmt.Println("done")
	// Output:
	// done
}

// Windows nest: the advice stays on until the outer window exits.
func ExamplePhase_Enter() {
	dflag.Init()
	outer := phase.STM.Enter()
	inner := phase.STM.Enter()
	inner.Exit()
	fmt.Println(exampleBarrier.On())
	outer.Exit()
	fmt.Println(exampleBarrier.On())
	// Output:
	// true
	// false
}

// Do runs a function inside a window, and closes it even if the function
// panics.
func ExamplePhase_Do() {
	dflag.Init()
	stm.Do(func() {
		fmt.Println("in the window:", exampleBarrier.On(), stm.Open())
	})
	fmt.Println("after:", exampleBarrier.On(), stm.Open())
	// Output:
	// in the window: true true
	// after: false false
}

// A program declares its own phases once, as package-level variables, and
// uses the variables: phase.Of is called with a constant name, never per
// window.
func ExampleOf() {
	dflag.Init()
	fmt.Println(batch.Name(), batchCheck.On())
	batch.Do(func() { fmt.Println("in the window:", batchCheck.On()) })
	// Output:
	// batch false
	// in the window: true
}
