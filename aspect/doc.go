// Package aspect makes a kind of dynamic-flag advice a first-class value:
// a named kind (for example request_tracing, steady_state or stm) that code
// declares its advice under, and that is switched on by scoped, counted
// activations which cannot leak.
//
// A kind is created once, at package level, and its advice is declared
// through it so that the kind's string is not repeated:
//
//	var tracing = aspect.New("request_tracing")
//
//	var traceSQL *dflag.Flag = tracing.Opt("db_query", "trace SQL statements")
//
// Calls to a function can be advice too, switched by rewriting the call
// instruction ([Kind.OptCalls]). Code that needs the advice holds an
// activation for exactly as long as it needs it; the release is idempotent
// and is what defer calls:
//
//	release := tracing.Activate()
//	defer release()
//
// or, for the duration of a function (released even if it panics):
//
//	tracing.Do(func() { ... })
//
// # Counting and linger
//
// Activations are counted. The first one takes a kind-wide hold in package
// dflag ([dflag.HoldKind]), which switches on every flag of the kind,
// including flags and call sites of the kind registered later; the listing
// shows it as the owner "kind:<name>". Further activations only increment
// a counter. When the last holder releases, the kind stays active for its
// linger (see [WithLinger] and [DefaultLinger]) before the hold is
// dropped, so a burst of short activations (one per request, say) does not
// switch flags and re-patch code each time, as Linux's deferred static keys
// do. An activation during the linger cancels the pending drop, and
// [Kind.Flush] drops a lingering hold at once.
//
// An operator's controls still apply: an unhooked flag ignores the kind's
// activation, and a dflag hold's "-" term forces a flag off whatever the
// kind's holders do.
//
// # Names
//
// A kind's name is a dflag kind: an identifier ([A-Za-z_][A-Za-z0-9_]*).
// [New] panics on any other name, like regexp.MustCompile, since kinds are
// package-level values with constant names; [CheckName] checks a name that
// comes from input. There is one Kind per name: a later New with the same
// name returns the same *Kind and ignores its options.
//
// # Failures and watchers
//
// If the call-site engine cannot switch some of the kind's call sites,
// Activate still returns (it has no error to return): the hold is in force
// in dflag's counts, the failure is logged with [log/slog], each site's
// dflag State says whether its call runs, and later dflag control calls
// retry. A [dflag.Watch] callback that panics when the linger's timer drops
// the hold is contained by dflag and logged; it cannot crash the process.
// Activate and the drop call into dflag with the kind's lock held, so a
// Watch callback must not activate or release the kind it is notified
// about.
//
// # Keeping On inlined
//
// The compiler inlines [dflag.Flag.On] (one atomic load) only in packages
// that import dflag themselves: a package that imports aspect alone gets
// an out-of-line call for every check. Declare advice with the type
// spelled out, which needs the import:
//
//	var traceSQL *dflag.Flag = tracing.Opt("db_query", "trace SQL statements")
//
// # Testing
//
// Tests that activate kinds use the returned release (or Do) as programs
// do, and [Kind.Flush] instead of waiting for the linger; package
// dflag/dflagtest gives them a clean environment and Init.
package aspect
