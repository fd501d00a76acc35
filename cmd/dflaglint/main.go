// Command dflaglint checks dynamic flag declarations (bounded.dev/dflag): it
// reports call-site functions without //go:noinline, flag constructors
// called outside package-level var initializers, kinds or names that panic
// at run time, and calls of On that the compiler cannot inline. See
// bounded.dev/dflag/lint.
//
// bounded.dev is not a fetchable module path, so install it from a clone:
//
//	go install ./cmd/dflaglint
//	dflaglint ./...
//	go vet -vettool=$(command -v dflaglint) ./...
//
// or, in a module that requires bounded.dev (through a replace directive),
// add the line "tool bounded.dev/cmd/dflaglint" to its go.mod, run go mod
// tidy, and run it as go tool dflaglint ./... .
//
// With -list it reports nothing and prints every flag declared instead, as
// kind:name@file:line followed by the constructor and the docstring, for
// the periodic audit of stale flags:
//
//	dflaglint -list ./...
//	go vet -vettool=$(command -v dflaglint) -list ./... 2>&1 | grep -v '^#' | sort -u
package main

import (
	"golang.org/x/tools/go/analysis/singlechecker"

	"bounded.dev/dflag/lint"
)

func main() { singlechecker.Main(lint.Analyzer) }
