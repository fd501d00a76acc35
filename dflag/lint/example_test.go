package lint_test

import (
	"fmt"

	"bounded.dev/dflag/lint"
)

// The analyzer runs under go vet through the command bounded.dev/cmd/dflaglint
// (singlechecker.Main(lint.Analyzer)); its -list flag turns it into an
// audit of every flag declared.
func Example() {
	fmt.Println(lint.Analyzer.Name)
	fmt.Println(lint.Analyzer.Flags.Lookup("list").Usage)
	// Output:
	// dflaglint
	// print every flag declared, as kind:name@file:line, instead of reporting problems
}
