// Package phase switches advice on for the phases of a program, with the
// grace period that makes the switch safe for goroutines that skipped the
// advice while it was off.
//
// A phase ([Phase]) is a value built on an [aspect.Kind] without linger,
// whose advice is declared as flags of the kind, for example a lock or a
// read barrier that is only needed while a window of the phase is open.
// The phases of the common case are the package's variables [SteadyState]
// and [STM]; a program declares its own once, at package level, with [Of]
// (var batch = phase.Of("batch")), so that a misspelt phase is a compile
// error rather than a new, empty phase:
//
//	var stm = phase.STM
//
//	var barrier *dflag.Flag = stm.Kind().Opt("table_barrier", "seqlock check on table reads")
//
// In a package that imports neither dflag nor a package that inlined On,
// barrier.On() is a call instead of one inlined load: see "When On is
// inlined" in package bounded.dev/dflag/lint; dflaglint reports it.
//
// Readers, goroutines whose fast paths test such a flag and skip the
// advice when it is off, register and announce quiescent states between
// their read sections:
//
//	r := phase.Register()
//	defer r.Close()
//	for {
//		serve(barrier.On()) // a read section: the flag is read once
//		r.Quiescent()       // holds no reference into the table
//	}
//
// A writer that needs the advice on opens a window:
//
//	w := stm.Enter() // advice on, and no reader still skips it
//	applyBatchInPlace()
//	w.Exit()
//
// or stm.Do(applyBatchInPlace), which does not allocate a Window. The
// deprecated [Enter] and [Kind] take the phase's name instead; they keep
// working, but a typo in the name goes unnoticed.
//
// The phases of the common case are [SteadyState] (entered once, after
// single-threaded start-up and before the first worker goroutine starts:
// its advice is what concurrency needs, such as locks) and [STM] (entered
// around batches applied in place: its advice is the read barrier).
//
// # Grace period
//
// The grace period is the quiescent-state-based scheme of userspace RCU's
// QSBR flavour. Enter switches the advice on, increments a global epoch,
// and waits until every registered, online reader has announced a
// quiescent state (stored the epoch it loaded) since. A read section that
// started before that quiescent state may have seen the advice off; one that
// starts after it sees the advice on (sync/atomic operations are
// sequentially consistent). So when Enter returns, no reader is still in a
// read section that saw the advice off. Offline and closed readers are not
// waited for: they are in no read section. [Synchronize] is the grace
// period alone.
//
// The guarantee covers only the transition to on. Switching advice off
// ([Window.Exit]) needs no grace period here, because the phases this
// package serves only need the advice while the window is open: a reader
// that still runs the advice after Exit is merely slower. A nested Enter,
// or one while another window is open, skips the grace period once one
// has completed since the advice was switched on.
//
// # Announcing from the slow path
//
// A reader that finds the advice on is between read sections (it has not
// started the one it is about to run) and will run the advice, so it may
// announce a quiescent state right there, before its read section. A
// reader that reads continuously then never delays a window, even if it
// never calls Quiescent between reads: examples/stm does this in its
// barrier path, which keeps Quiescent out of its fast path. Readers that
// pause (between requests, say) still call Quiescent first.
//
// # Reader duties
//
// A reader must not carry anything it read in a read section across
// [Reader.Quiescent]; it must call [Reader.Offline] before it blocks (a
// channel receive, a lock, I/O, a sleep) and [Reader.Online] after, or
// every Enter waits until it runs again; and it must [Reader.Close] when
// done. A goroutine must not call Enter while its own Reader is online: it
// would wait for itself.
//
// # Cost
//
// With no readers, a window costs the dflag kind hold and its release
// (Enter switches every flag of the kind through the registry) plus a few
// atomic operations; docs/phases.md has the measurements and where the
// cost goes. A [dflag.Watch] callback runs inside that switch, so it must
// not enter or exit a window of the phase it is told about.
package phase
