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

var recsBreaker = dflag.Default("example_breaker", "recs", "serve recommendations")

// An owned hold is a named set of terms in force: here a fleet-wide key
// trips a Default circuit breaker, and clearing the key gives back exactly
// the state before. Holds show in the listing as owners.
func ExampleNewHold() {
	fleet, err := dflag.NewHold("etcd:/dflag/breakers")
	if err != nil {
		panic(err)
	}
	fleet.Replace("-example_breaker:recs@") // "-" forces the flag off
	fmt.Println("serving:", recsBreaker.On())
	for _, o := range recsBreaker.State().Owners {
		fmt.Println("owner:", o.Name, o.Terms)
	}
	fleet.Replace("-example_breaker:recs@") // the same value again: no change
	fleet.Release()
	fmt.Println("serving:", recsBreaker.On())
	// Output:
	// serving: false
	// owner: etcd:/dflag/breakers [-example_breaker:recs@]
	// serving: true
}

// A pattern selects every name it is a prefix of; end it at the '@' that
// follows every name to select one name exactly.
func ExampleNamePattern() {
	n, _ := dflag.Deactivate("example:new") // also matches example:new_parser
	dflag.Activate("example:new")
	fmt.Println(n)
	p := dflag.NamePattern("example", "new")
	n, _ = dflag.Deactivate(p) // no flag is named exactly "new"
	fmt.Println(p, n)
	// Output:
	// 1
	// example:new@ 0
}

// The methods on *Flag switch exactly one record.
func ExampleFlag_Activate() {
	verbose.Activate()
	fmt.Println(verbose.On(), verbose.State().Activation)
	verbose.Deactivate()
	fmt.Println(verbose.On())
	// Output:
	// true 1
	// false
}

// ApplyMatched tells a caller which terms matched nothing (Apply accepts
// them, as the C library does).
func ExampleApplyMatched() {
	terms := []string{"+example:verbose", "-exmaple:new_parser"} // a typo
	matched, err := dflag.ApplyMatched(terms...)
	for i, n := range matched {
		if n == 0 {
			fmt.Printf("%s matches no flag\n", terms[i])
		}
	}
	dflag.Apply("-example:verbose")
	fmt.Println(err)
	// Output:
	// -exmaple:new_parser matches no flag
	// <nil>
}

// Patterns are bounded in size and cost; a refused pattern says which
// bound it hit and is neither compiled nor cached.
func ExampleCheckPattern() {
	fmt.Println(dflag.CheckPattern("example:(verbose|new_parser)@"))
	fmt.Println(dflag.CheckPattern("(.{1000})(.{1000})"))
	// Output:
	// <nil>
	// dflag: pattern "(.{1000})(.{1000})" refused: pattern would compile to more than 2000 instructions (the limit): repetition counts multiply and add up, so (.{1000}) costs about 2,000; use * or + instead of large {n} counts
}

func ExampleWriteListJSON() {
	dflag.WriteListJSON(os.Stdout, "example_breaker:")
	// Output:
	// [{"name":"example_breaker:recs@bounded.dev/dflag/example_test.go:84","kind":"example_breaker","flag":"recs","doc":"serve recommendations","file":"bounded.dev/dflag/example_test.go","line":84,"mode":"default","on":true,"activation":1,"unhook":0}]
}

// A batch's read barrier, switched by a kind-wide hold.
var batchBarrier = dflag.Opt("example_batch", "barrier", "read barrier while a batch is applied")

// A KindHold is made once and taken and dropped as often as its owner
// needs, without allocating; the listing names the owner.
func ExampleKindHold() {
	dflag.Init()
	h, err := dflag.NewKindHold("example_batch", "phase:example_batch")
	if err != nil {
		fmt.Println(err)
		return
	}
	h.Take()
	fmt.Println(batchBarrier.On(), batchBarrier.State().Owners[0].Name)
	h.Drop()
	fmt.Println(batchBarrier.On())
	// Output:
	// true phase:example_batch
	// false
}

// CheckKind checks a kind name that comes from input.
func ExampleCheckKind() {
	fmt.Println(dflag.CheckKind("request_tracing"))
	fmt.Println(dflag.CheckKind("request-tracing"))
	// Output:
	// <nil>
	// dflag: kind "request-tracing" is not an identifier ([A-Za-z_][A-Za-z0-9_]*)
}
