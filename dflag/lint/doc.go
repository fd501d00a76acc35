// Package lint is a go/analysis analyzer that keeps dynamic flags honest.
// It reports:
//
//   - functions passed to dflag.OptCalls or dflag.DefaultCalls (or to the
//     OptCalls and DefaultCalls methods of an aspect.Kind) that are not
//     top-level functions marked //go:noinline: an inlined function leaves
//     no call to patch, and closures, methods and generic instantiations
//     are refused at run time;
//   - flag constructors (dflag.Feature, Default, Opt and Declare, the Opt,
//     Default and Feature methods of an aspect.Kind, and wrappers that call
//     dflag.Declare with a non-zero skip) called anywhere but in the
//     initializer of a package-level var: each call makes a new record, so a
//     constructor in a function leaks a record per call;
//   - constant kinds that are not identifiers, and constant names that are
//     empty or contain '@', a newline or NUL, which panic at run time.
//
// With -list, it reports nothing and instead prints every flag declaration
// as kind:name@file:line followed by its constructor and docstring, where
// file is import-path-qualified as the running program names it: the audit
// for stale flags that the C library's article recommends.
//
// The command bounded.dev/cmd/dflaglint runs it standalone or under go vet.
package lint
