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
// # One kind type
//
// A Kind is the one typed value of a kind of advice: created once, at
// package level, and the way every part of the kind's life is reached.
// Through it the kind's advice is declared ([Kind.Opt], [Kind.Default],
// [Kind.Feature] for hook flags, [Kind.OptCalls] and [Kind.DefaultCalls]
// for call sites), activated ([Kind.Activate], [Kind.Do]), held (the
// counted, lingering dflag hold behind the activations) and flushed
// ([Kind.Flush]). Because code names the variable rather than the kind's
// string, a misspelt kind is a compile error. The other packages build on
// it: package phase's [bounded.dev/phase.Phase] is a Kind without linger
// plus a grace period (phase.STM, phase.SteadyState, and a program's own
// phase.Of("batch") in a package-level variable), and package tracing's
// Kind is the request_tracing Kind.
//
// Package dflag keeps the C library's surface, which names kinds by
// string: [dflag.ActivateKind], [dflag.DeactivateKind], [dflag.HoldKind],
// the kind argument of [dflag.Opt] and its siblings, and the kind part of
// patterns and startup terms. It is what operators, startup terms and
// ports of C code use, with the C library's exact semantics; programs
// written in Go use a Kind. A kind's name is checked in one place,
// [dflag.CheckKind], which [New], [CheckName] and phase.Of call.
//
// # Counting and linger
//
// Activations are counted. The first one takes a kind-wide hold in package
// dflag (a [dflag.KindHold], taken and dropped without allocating), which
// switches on every flag of the kind,
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
// comes from input.
//
// There is one Kind per name: a later New with the same name returns the
// same *Kind, so that packages that share a kind (a library's advice and
// the program that activates it) get one value. A later New's options are
// ignored, and if they differ from the kind's, that is logged with
// [log/slog.Warn] (naming the kind, its linger and the ignored one). New
// does not panic on such a duplicate, as expvar.Publish does, because the
// options tune a kind rather than identify it: two packages that disagree
// about a linger are a tuning mistake to fix, not a reason to crash a
// program at start-up. Create each kind once and share the variable.
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
// The compiler inlines [dflag.Flag.On] (one atomic load) in a package that
// imports dflag, or that imports a package which itself inlined On; a
// package that imports aspect alone gets an out-of-line call for every
// check. How the variable is declared does not matter; the import does.
// The exact rule is "When On is inlined" in package bounded.dev/dflag/lint,
// and dflaglint reports every check that will be a call, with a fix that
// adds import _ "bounded.dev/dflag".
//
// # Testing
//
// Tests that activate kinds use the returned release (or Do) as programs
// do, and [Kind.Flush] instead of waiting for the linger; package
// dflag/dflagtest gives them a clean environment and Init.
package aspect
