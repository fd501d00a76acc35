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
//     empty or contain '@', a newline or NUL, which the API refuses at run
//     time: the constructors (dflag's, aspect.New, phase.Of) with a panic,
//     the kind operations (ActivateKind, DeactivateKind, HoldKind,
//     NewKindHold) with an error;
//   - calls of (*dflag.Flag).On that the compiler cannot inline (below),
//     with a suggested fix that adds import _ "bounded.dev/dflag".
//
// # When On is inlined
//
// (*dflag.Flag).On is one atomic load when the compiler inlines it, and a
// CALL otherwise (BenchmarkOn in bounded.dev/bench measures both; see
// docs/benchmarks.md). The compiler inlines a function from another
// package only if that function's body is in the export data it reads for
// the package being compiled, and the body of On is there exactly when
// the package being compiled
//
//   - imports bounded.dev/dflag, in any form (a blank import is enough), or
//   - directly imports a package that itself inlined On: that called On, or
//     took a method value f.On, while it could inline On by this same rule.
//     The compiler re-exports the body of every function it inlined (see
//     exportBody in cmd/compile/internal/noder/linker.go), so this chains
//     through packages that call On, and stops at one that does not.
//
// The type a flag variable is declared with does not matter, only the
// imports do: a package that imports only bounded.dev/aspect or
// bounded.dev/phase calls On out of line, one that imports
// bounded.dev/tracing (whose helpers inline On) inlines it. A method
// expression (*dflag.Flag).On inlines nothing. TestOnInliningMatchesCompiler
// holds this rule to go build -gcflags=-m=2 on the module in
// testdata/compiler. (Builds with -gcflags=-l inline nothing at all.)
//
// # Silencing a finding
//
// A comment starting with //dflaglint:ignore on the line of a finding, or
// on the line above it, silences that finding; say why after it. The
// packages that implement the constructors (dflag, aspect and phase, with
// their tests) are neither checked nor listed: they call them in functions,
// and with bad names, on purpose.
//
// # -list
//
// With -list, it reports nothing and instead prints every flag declaration
// as kind:name@file:line followed by its constructor and docstring, where
// file is import-path-qualified as the running program names it: the audit
// for stale flags that the C library's article recommends. A kind is
// resolved when it is a constant argument of the constructor, of the kind
// receiver (aspect.New("k").Opt, phase.Kind(phase.STM).Opt,
// phase.Of(phase.STM).Kind().Opt), or of the initializer of the
// package-level variable the receiver names; otherwise it prints as "?".
//
// The command bounded.dev/cmd/dflaglint runs it standalone or under go vet.
package lint
