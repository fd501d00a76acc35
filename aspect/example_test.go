package aspect_test

import (
	"fmt"
	"time"

	"bounded.dev/aspect"
	"bounded.dev/dflag"
)

// A kind is created once; its advice is declared through it, and code that
// wants the advice holds an activation for as long as it needs it.
var (
	exampleTracing = aspect.New("example_request_tracing", aspect.WithLinger(0))
	exampleSQL     = exampleTracing.Opt("db_query", "trace SQL statements")
)

func query(sql string) {
	if exampleSQL.On() {
		fmt.Println("trace:", sql)
	}
}

func Example() {
	dflag.Init() // Opt flags are off from here on, until activated

	query("SELECT 1") // not traced

	release := exampleTracing.Activate()
	query("SELECT 2") // traced
	release()
	release() // idempotent

	query("SELECT 3") // not traced
	// Output:
	// trace: SELECT 2
}

// Do activates the kind for the duration of a function, even if it panics.
func ExampleKind_Do() {
	dflag.Init()
	exampleTracing.Do(func() {
		query("SELECT 4")
		fmt.Println("holders:", exampleTracing.Holders())
	})
	fmt.Println("holders:", exampleTracing.Holders(), "active:", exampleTracing.Active())
	// Output:
	// trace: SELECT 4
	// holders: 1
	// holders: 0 active: false
}

// With a linger, the kind stays active after the last release, so a burst
// of short activations switches the flags once.
func ExampleWithLinger() {
	dflag.Init()
	k := aspect.New("example_bursty", aspect.WithLinger(time.Minute))
	f := k.Opt("advice")
	for range 3 {
		release := k.Activate()
		release()
	}
	fmt.Println("holders:", k.Holders(), "active:", k.Active(), "on:", f.On())
	k.Flush() // drop the hold now rather than in a minute
	fmt.Println("active:", k.Active(), "on:", f.On())
	// Output:
	// holders: 0 active: true on: true
	// active: false on: false
}

// CheckName checks a kind name that comes from input; New panics instead.
func ExampleCheckName() {
	fmt.Println(aspect.CheckName("request_tracing"))
	fmt.Println(aspect.CheckName("request-tracing"))
	// Output:
	// <nil>
	// aspect: kind "request-tracing" is not an identifier ([A-Za-z_][A-Za-z0-9_]*)
}

// An operator's unhook beats the kind's activations.
func ExampleKind_Activate_unhooked() {
	dflag.Init()
	dflag.Unhook("example_request_tracing:db_query@")
	release := exampleTracing.Activate()
	query("SELECT 5") // not traced: unhooked
	release()
	dflag.Rehook("example_request_tracing:db_query@")
	exampleTracing.Do(func() { query("SELECT 6") })
	// Output:
	// trace: SELECT 6
}
