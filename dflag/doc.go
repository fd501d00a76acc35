// Package dflag provides dynamic flags: runtime-switchable conditionals that
// cost one atomic load when checked, registered with their source location,
// and switched in groups by regular expression with counted activations.
//
// It brings the semantics of the C library backtrace-labs/dynamic_flag to Go.
// A flag is declared once, at package level:
//
//	var slowPath = dflag.Opt("request_tracing", "db_query", "trace SQL statements")
//
// and checked where it guards code:
//
//	if slowPath.On() && req.Tracing {
//		...
//	}
//
// Every declaration is its own record, named kind:name@file:line, where file
// is the import-path-qualified source file (as -trimpath prints it), so the
// name does not depend on the build directory.
//
// # Constructors
//
//	constructor  before Init  after Init            when it cannot be switched
//	Feature      off          off (activation 0)    off
//	Default      on           on  (activation 1)    on
//	Opt          on           off (activation 0)    on
//
// A flag is on exactly when its activation count is positive (Opt flags are
// also on until Init). Activations are counted: Activate increments and
// Deactivate decrements, saturating at zero, so programmatic users can pair
// them while an operator forces a flag on with one extra activation. Unhook
// increments a separate count; while it is positive, activations are ignored
// (deactivations still apply), so an operator can keep a crashy block off.
// Rehook decrements it, saturating at zero.
//
// # Patterns
//
// Control functions take a POSIX extended regular expression (as accepted by
// [regexp.CompilePOSIX]) matched against each flag's full name, implicitly
// anchored at the start of the name but not at its end: "on:x" matches
// "on:x@a.go:3" and not "test:on:x@a.go:9". Each returns how many records
// matched. An invalid pattern is an error and changes nothing.
//
// # Startup terms
//
// [Init] applies the terms in the DFLAG environment variable and in the file
// named by DFLAG_FILE; [Apply] and [Terms] (a flag.Value) take the same terms.
// See [ParseTerms] for the syntax. All terms are validated before any is
// applied.
//
// # Concurrency
//
// Every function is safe for concurrent use, and [Flag.On] may run
// concurrently with any control call. Control calls are serialised.
package dflag
