package dflag_test

import (
	"fmt"
	"os"

	"bounded.dev/dflag"
)

// Flags are declared in package-level variables; each declaration is its
// own record, named after its source line.
var (
	verbose   = dflag.Feature("example", "verbose", "log every step")
	newParser = dflag.Default("example", "new_parser", "circuit breaker for the new parser")
	traceSQL  = dflag.Opt("example_tracing", "sql", "trace SQL statements")
)

func Example() {
	dflag.Init() // Opt flags switch off here; DFLAG and DFLAG_FILE apply

	if newParser.On() {
		fmt.Println("parsing with the new parser")
	}
	if verbose.On() {
		fmt.Println("this does not print")
	}
	dflag.Activate("example:verbose")
	if verbose.On() {
		fmt.Println("verbose")
	}
	dflag.Deactivate("example:verbose")
	// Output:
	// parsing with the new parser
	// verbose
}

// A request that opts into tracing activates every flag of the kind for
// as long as it is in flight; activations are counted, so overlapping
// requests pair their calls.
func ExampleActivateKind() {
	n, _ := dflag.ActivateKind("example_tracing", "")
	fmt.Println(n, traceSQL.On())
	dflag.DeactivateKind("example_tracing", "")
	fmt.Println(traceSQL.On())
	// Output:
	// 1 true
	// false
}

// Unhooking keeps a flag from being activated programmatically until it is
// rehooked.
func ExampleUnhook() {
	dflag.Unhook("example:verbose")
	dflag.Activate("example:verbose")
	fmt.Println(verbose.On())
	dflag.Rehook("example:verbose")
	// Output:
	// false
}

func ExampleWriteList() {
	dflag.Activate("example:new_parser")
	dflag.WriteList(os.Stdout, "example:")
	dflag.Deactivate("example:new_parser")
	// Output:
	// example:new_parser@bounded.dev/dflag/example_test.go:14 (2): circuit breaker for the new parser
	// example:verbose@bounded.dev/dflag/example_test.go:13 (off): log every step
}

func ExampleApply() {
	err := dflag.Apply("+example:verbose", "-example:verbose", "+(")
	fmt.Println(err)
	// Output:
	// dflag: term "+(": invalid pattern "(": error parsing regexp: missing closing ): `(`
}

func ExampleParseTerms() {
	terms, err := dflag.ParseTerms(`+example:verbose !"example:new parser" -` + "`a\\.b`")
	fmt.Printf("%q %v\n", terms, err)
	// Output:
	// ["+example:verbose" "!example:new parser" "-a\\.b"] <nil>
}
