// Package dflagtest is test support for code that uses package dflag: a
// clean environment and Init for TestMain, and activations, holds and
// kind holds scoped to one test, undone by t.Cleanup, so that tests pass
// in any order, repeated (go test -count=2 -shuffle=on), and whatever
// DFLAG the developer's shell exports.
//
// A package's tests start with
//
//	func TestMain(m *testing.M) { dflagtest.Main(m) }
//
// and switch flags for one test at a time:
//
//	func TestTripped(t *testing.T) {
//		dflagtest.Hold(t, "-breaker:recs@") // released when the test ends
//		...
//	}
//
// [Activate] and [Unhook] take back exactly the records they changed,
// [Hold] releases its hold, [HoldKind] its kind hold, and [Reset] sets the
// counts of every flag back to their declared values, for a test that needs
// a known start after others.
//
// The dflag registry is process-wide, so tests that switch flags must not
// run in parallel with tests that look at the same flags.
package dflagtest
