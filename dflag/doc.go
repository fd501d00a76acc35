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
// name does not depend on the build directory. Direct calls to a function can
// be records too, switched by rewriting the call instruction: see [OptCalls].
//
// # Constructors
//
//	constructor  before Init  after Init            when it cannot be switched
//	Feature      off          off (activation 0)    off
//	Default      on           on  (activation 1)    on
//	Opt          on           off (activation 0)    on
//
// A flag is on exactly when its activation count is positive (Opt flags are
// also on until Init), unless an owned hold forces it off (see Holds below).
// Activations are counted: Activate increments and Deactivate decrements,
// saturating at zero, so programmatic users can pair them while an operator
// forces a flag on with one extra activation. Unhook increments a separate
// count; while it is positive, activations are ignored (deactivations still
// apply), so an operator can keep a crashy block off with "!re -re". Rehook
// decrements it, saturating at zero.
//
// # Patterns
//
// Control functions take a POSIX extended regular expression (the syntax of
// [regexp.CompilePOSIX]) matched against each flag's full name, and accept a
// match only where it starts at offset 0, as the C library does: the whole
// pattern is anchored, alternatives and a leading ^ included, so
// "^zzz|tracing" selects names that start with zzz or tracing and not
// request_tracing:db@a.go:3. Patterns are not anchored at the end: "on:x"
// selects on:x@a.go:3 and on:x_v2@a.go:9, and not test:on:x@a.go:9. ^ and $
// are the start and end of the name. Each control function returns how many
// records matched; an invalid pattern is an error and changes nothing.
//
// To select one name exactly, end the pattern at the '@' that follows every
// name: "breaker:recs@" selects the declarations and call sites named recs of
// kind breaker and not breaker:recs_v2. [NamePattern] builds such a pattern
// with the name quoted, [Flag.Pattern] the pattern for one full name, and the
// methods [Flag.Activate], [Flag.Deactivate], [Flag.Unhook] and
// [Flag.Rehook] switch exactly one record from code; [Flags] returns the
// records a pattern matches.
//
// Matching is cheap when a pattern starts with a literal, as most do
// ("request_tracing:", "breaker:recs@"), or with one of a few literals
// ("(breaker|flag):recs@", "rec_[12]"): the registry keeps the names
// sorted, so only the records that start with a literal are looked at, a
// branch that is all literal needs no regular expression at all, and a
// control call allocates nothing (see BenchmarkPatternPair). A pattern
// without a literal prefix (".*recs") is matched against every record.
//
// Patterns are bounded, because they come from operators' consoles and
// remote keys: at most [MaxPatternLen] bytes, and at most an estimated
// [MaxPatternCost] instructions once compiled (repetition counts multiply
// and add up). A pattern over a bound is refused with an error that says
// which bound it hit ([ErrPatternLimit]), before it is compiled; accepted
// patterns are compiled once and kept in a cache bounded in bytes.
// [CheckPattern] applies the same checks.
//
// Matching nothing is not an error for the control functions (they return
// 0, as in the C library); [ApplyMatched] returns each term's count so that
// callers can warn.
//
// # Startup terms and environment variables
//
// [Init] applies startup terms, and [Apply] and [Terms] (a flag.Value for
// -dflag) take the same terms; see [ParseTerms] for the syntax. All terms
// are validated before any is applied.
//
//	DFLAG         terms, such as '+request_tracing: -breaker:recs@ !legacy:'
//	DFLAG_FILE    a file of terms: one specification per line, # comments
//	DFLAG_STRICT  1: Init refuses terms that match no flag (and applies none)
//
// The file's terms apply first. A startup term that matches no flag (a typo
// such as -breakr:) is applied all the same and logged with [slog.Warn]; with
// DFLAG_STRICT=1, Init returns an error naming it instead, for programs that
// register every flag before Init (and for CI). A command-line term that
// matches nothing is logged too. Startup terms keep the C library's
// semantics: they change the counts once, so a later Activate undoes a
// startup "-". They are recorded as the flags' owners "env:DFLAG" and
// "env:DFLAG_FILE" (see [State.Owners]).
//
// # Holds
//
// The counts are cumulative; a contributor that states "while this is in
// force, these terms hold" (a console session, a remote key, a traced
// request) uses a [Hold] instead: [NewHold] names an owner, [Hold.Replace]
// makes a set of terms the one in force, applying only the difference with
// no transient flip of a flag that both sets keep, and [Hold.Release]
// restores exactly what the hold changed. A hold's "-re" forces flags off
// with a count of its own that beats every activation (so that releasing it
// gives back the state before, which a deactivation could not), its "+re"
// holds an activation that an unhook (anyone's) overrides, and its "!re"
// holds an unhook. The C library's counts and functions keep their exact
// semantics beside holds. [State.Owners] lists, per flag, the holds whose
// terms match it, the kind-wide holds under their owners' names ([KindHold]:
// "kind:<kind>" for package aspect's activations, "phase:<name>" for
// package phase's windows; "kind:<kind>" for [HoldKind]) and the startup
// terms; [WriteListJSON] shows them. The C-format listing of
// [WriteList] is unchanged.
//
// # When code cannot be switched
//
// A call site that the engine fails to switch keeps the instruction it had,
// and its record says so: [State.On] (and [Flag.On]) is always what the code
// does. Its counts are updated all the same, so it stays out of line with
// them, and every later control call that matches it tries again. Control
// calls report the failure: they return the matched count with a
// *[SwitchError] that wraps the engine's error (Apply, Init and a [Hold]'s
// methods return it joined or wrapped, [HoldKind] returns it with the
// release), [Event.Err] holds it, and [Event.Flipped] counts only the flips
// that happened.
//
// # Watching changes
//
// [Watch] calls a function after every control operation, for audit logs and
// metrics (package dflag/otelmetrics is one). A watcher that panics is
// contained: the panic is logged with [slog.Error], the operation it was
// told about is complete, and its caller gets its result.
//
// # Concurrency
//
// Every function is safe for concurrent use, and [Flag.On] may run
// concurrently with any control call. Control calls are serialised. Init
// runs once: concurrent and later calls wait for the first and return its
// result.
//
// # Testing
//
// The registry is process-wide. Package dflag/dflagtest gives tests a clean
// environment (no ambient DFLAG), Init, activations and holds undone by
// t.Cleanup, and a reset of the counts ([ResetCounts]), so that tests pass
// repeated and shuffled.
package dflag
