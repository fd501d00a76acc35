// Command dflaglint checks dynamic flag declarations (bounded.dev/dflag): it
// reports call-site functions without //go:noinline, flag constructors
// called outside package-level var initializers, and kinds or names that
// panic at run time. See bounded.dev/dflag/lint.
//
// Run it standalone or as a vet tool:
//
//	go install bounded.dev/cmd/dflaglint
//	dflaglint ./...
//	go vet -vettool=$(which dflaglint) ./...
//
// With -list it reports nothing and prints every flag declared instead, as
// kind:name@file:line followed by the constructor and the docstring, for
// the periodic audit of stale flags:
//
//	dflaglint -list ./...
//	go vet -vettool=$(which dflaglint) -list ./... 2>&1 | grep -v '^#' | sort -u
package main

import (
	"golang.org/x/tools/go/analysis/singlechecker"

	"bounded.dev/dflag/lint"
)

func main() { singlechecker.Main(lint.Analyzer) }
