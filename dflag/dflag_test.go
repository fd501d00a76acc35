package dflag_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"bounded.dev/dflag"
	"bounded.dev/dflag/dflagtest"
)

// Declared before Init; TestMain records their values before calling Init.
var (
	ctorFeature = dflag.Feature("ctor", "feature", "a feature flag")
	ctorDefault = dflag.Default("ctor", "default", "a default flag")
	ctorOpt     = dflag.Opt("ctor", "opt", "an opt flag")

	beforeInit [3]bool
)

func TestMain(m *testing.M) {
	beforeInit = [3]bool{ctorFeature.On(), ctorDefault.On(), ctorOpt.On()}
	if os.Getenv("DFLAG_TEST_CHILD") == "" {
		// The parent process must not be configured from outside.
		os.Unsetenv("DFLAG")
		os.Unsetenv("DFLAG_FILE")
		os.Unsetenv("DFLAG_STRICT")
	}
	if os.Getenv("DFLAG_TEST_CHILD") == "concurrent" {
		os.Exit(m.Run()) // TestConcurrentInitChild calls Init
	}
	if err := dflag.Init(); err != nil && os.Getenv("DFLAG_TEST_CHILD") == "" {
		fmt.Fprintln(os.Stderr, "Init:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

func state(t *testing.T, f *dflag.Flag) dflag.State {
	t.Helper()
	return f.State()
}

func mustMatch(t *testing.T, want int) func(int, error) {
	t.Helper()
	return func(n int, err error) {
		t.Helper()
		if err != nil || n != want {
			t.Fatalf("matched %d, %v; want %d, nil", n, err, want)
		}
	}
}

func TestConstructorsBeforeAndAfterInit(t *testing.T) {
	if want := [3]bool{false, true, true}; beforeInit != want {
		t.Errorf("before Init (feature, default, opt) = %v, want %v", beforeInit, want)
	}
	after := [3]bool{ctorFeature.On(), ctorDefault.On(), ctorOpt.On()}
	if want := [3]bool{false, true, false}; after != want {
		t.Errorf("after Init (feature, default, opt) = %v, want %v", after, want)
	}
	for f, want := range map[*dflag.Flag]uint64{ctorFeature: 0, ctorDefault: 1, ctorOpt: 0} {
		if got := state(t, f).Activation; got != want {
			t.Errorf("%s: activation %d after Init, want %d", f.Name(), got, want)
		}
	}
	if err := dflag.Init(); err != nil || !dflag.Initialized() {
		t.Errorf("second Init: %v, Initialized %v", err, dflag.Initialized())
	}
	if ctorOpt.On() || !ctorDefault.On() {
		t.Error("a second Init changed flag values")
	}
	// A flag declared after Init takes its post-Init value at once.
	late := dflag.Opt("ctor", "late_opt")
	if late.On() {
		t.Error("an Opt flag declared after Init is on")
	}
	if !dflag.Default("ctor", "late_default").On() {
		t.Error("a Default flag declared after Init is off")
	}
}

func TestNameIsStableAndNamesTheDeclaration(t *testing.T) {
	name := ctorOpt.Name()
	if !strings.HasPrefix(name, "ctor:opt@bounded.dev/dflag/dflag_test.go:") {
		t.Errorf("Name() = %q, want ctor:opt@bounded.dev/dflag/dflag_test.go:<line>", name)
	}
	s := state(t, ctorOpt)
	if filepath.IsAbs(s.File) || s.Line <= 0 || name != fmt.Sprintf("ctor:opt@%s:%d", s.File, s.Line) {
		t.Errorf("state file %q line %d do not make up name %q", s.File, s.Line, name)
	}
	if s.Kind != "ctor" || s.Flag != "opt" || s.Doc != "an opt flag" || s.Mode != dflag.ModeOpt || s.CallSite() {
		t.Errorf("unexpected state %+v", s)
	}
}

func TestDeclarePanicsOnInvalidKindOrName(t *testing.T) {
	for _, c := range []struct{ kind, name string }{
		{"", "x"}, {"a b", "x"}, {"1kind", "x"}, {"k-ind", "x"}, {"kind", ""}, {"kind", "a@b"}, {"kind", "a\nb"},
	} {
		func() {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, "bounded.dev/dflag/dflag_test.go:") {
					t.Errorf("Feature(%q, %q) panic %q does not name the call site", c.kind, c.name, msg)
				}
			}()
			dflag.Feature(c.kind, c.name)
		}()
	}
}

// Declared once, so that the test can run again (go test -count=2).
var (
	anchOnX     = dflag.Feature("anch", "x")
	anchTestOnX = dflag.Feature("test_anch", "anch:x")
)

func TestPatternsAreAnchoredAtTheStart(t *testing.T) {
	dflagtest.Reset(t)
	onX := anchOnX
	testOnX := anchTestOnX
	mustMatch(t, 1)(dflag.Activate("anch:x"))
	if !onX.On() || testOnX.On() {
		t.Fatalf("Activate(anch:x): anch:x on=%v, test_anch:anch:x on=%v", onX.On(), testOnX.On())
	}
	// Not anchored at the end: a prefix matches.
	mustMatch(t, 1)(dflag.Activate("anch:"))
	if got := state(t, onX).Activation; got != 2 {
		t.Errorf("activation %d, want 2", got)
	}
	// An alternation is anchored as a whole.
	mustMatch(t, 1)(dflag.Activate("nomatch|anch:x"))
	mustMatch(t, 0)(dflag.Activate("nomatch|x"))
	// An explicit ^ works the same.
	mustMatch(t, 1)(dflag.Activate("^test_anch:anch:x"))
	if !testOnX.On() {
		t.Error("^test_anch:anch:x did not activate")
	}
	// .* reaches inside names.
	mustMatch(t, 2)(dflag.Deactivate(".*anch:x"))
}

// Declared once, so that the test can run again (go test -count=2).
var (
	countF = dflag.Feature("count", "x")
)

func TestActivationsAreCountedAndSaturate(t *testing.T) {
	dflagtest.Reset(t)
	f := countF
	mustMatch(t, 1)(dflag.Deactivate("count:x"))
	if s := state(t, f); s.Activation != 0 || f.On() {
		t.Fatalf("deactivation below zero: %+v", s)
	}
	mustMatch(t, 1)(dflag.Activate("count:x"))
	mustMatch(t, 1)(dflag.Activate("count:x"))
	mustMatch(t, 1)(dflag.Deactivate("count:x"))
	if !f.On() || state(t, f).Activation != 1 {
		t.Fatal("one of two activations released, flag should stay on")
	}
	mustMatch(t, 1)(dflag.Deactivate("count:x"))
	mustMatch(t, 1)(dflag.Deactivate("count:x"))
	if f.On() || state(t, f).Activation != 0 {
		t.Fatal("flag should be off at zero")
	}
	mustMatch(t, 1)(dflag.Activate("count:x"))
	if !f.On() {
		t.Fatal("saturated count did not come back to one")
	}
}

// Declared once, so that the test can run again (go test -count=2).
var (
	unhookF = dflag.Feature("unhook", "x")
	unhookD = dflag.Default("unhook", "y")
)

func TestUnhookBlocksActivation(t *testing.T) {
	dflagtest.Reset(t)
	f := unhookF
	d := unhookD
	mustMatch(t, 2)(dflag.Unhook("unhook:"))
	mustMatch(t, 2)(dflag.Activate("unhook:")) // matched, silently ignored
	if f.On() || state(t, f).Activation != 0 {
		t.Fatal("activation of an unhooked flag applied")
	}
	if !d.On() {
		t.Fatal("unhook must not switch a flag off by itself")
	}
	mustMatch(t, 1)(dflag.Deactivate("unhook:y")) // deactivation still applies
	if d.On() {
		t.Fatal("deactivation of an unhooked flag ignored")
	}
	mustMatch(t, 2)(dflag.Unhook("unhook:"))
	mustMatch(t, 2)(dflag.Rehook("unhook:"))
	if s := state(t, f); s.Unhook != 1 {
		t.Fatalf("unhook count %d, want 1", s.Unhook)
	}
	dflag.Activate("unhook:x")
	if f.On() {
		t.Fatal("still unhooked once, activation applied")
	}
	mustMatch(t, 2)(dflag.Rehook("unhook:"))
	mustMatch(t, 2)(dflag.Rehook("unhook:")) // saturates
	if s := state(t, f); s.Unhook != 0 {
		t.Fatalf("unhook count %d, want 0", s.Unhook)
	}
	dflag.Activate("unhook:x")
	if !f.On() {
		t.Fatal("rehooked flag did not activate")
	}
}

func snapshot(t *testing.T) []dflag.State {
	t.Helper()
	s, err := dflag.List("")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestInvalidPatternChangesNothing(t *testing.T) {
	dflag.Feature("invalid", "x")
	before := snapshot(t)
	for _, p := range []string{"(", "a)", "[z-a]", "*x", `\d`} {
		for name, fn := range map[string]func(string) (int, error){
			"Activate": dflag.Activate, "Deactivate": dflag.Deactivate, "Unhook": dflag.Unhook, "Rehook": dflag.Rehook,
			"ActivateKind":   func(p string) (int, error) { return dflag.ActivateKind("invalid", p) },
			"DeactivateKind": func(p string) (int, error) { return dflag.DeactivateKind("invalid", p) },
		} {
			if n, err := fn(p); err == nil || n != 0 || !strings.Contains(err.Error(), "invalid pattern") {
				t.Errorf("%s(%q) = %d, %v; want an invalid pattern error", name, p, n, err)
			}
		}
		if _, err := dflag.List(p); err == nil {
			t.Errorf("List(%q) accepted an invalid pattern", p)
		}
		if err := dflag.WriteList(new(strings.Builder), p); err == nil {
			t.Errorf("WriteList(%q) accepted an invalid pattern", p)
		}
	}
	if after := snapshot(t); !reflect.DeepEqual(before, after) {
		t.Error("an invalid pattern changed state")
	}
}

// Declared once, so that the test can run again (go test -count=2).
var (
	kindsA1 = dflag.Opt("kinda", "one")
	kindsA2 = dflag.Opt("kinda", "two")
	kindsB  = dflag.Opt("kindab", "one") // same prefix, other kind
)

func TestKindOperationsTouchOnlyTheirKind(t *testing.T) {
	dflagtest.Reset(t)
	a1 := kindsA1
	a2 := kindsA2
	b := kindsB
	mustMatch(t, 2)(dflag.ActivateKind("kinda", ""))
	if !a1.On() || !a2.On() || b.On() {
		t.Fatal("ActivateKind(kinda) must switch on exactly kinda's flags")
	}
	// The pattern is matched against the full name, within the kind.
	mustMatch(t, 1)(dflag.DeactivateKind("kinda", "kinda:one"))
	mustMatch(t, 0)(dflag.DeactivateKind("kinda", "kindab:"))
	if a1.On() || !a2.On() || b.On() {
		t.Fatal("DeactivateKind with a pattern switched the wrong flags")
	}
	mustMatch(t, 0)(dflag.ActivateKind("no_such_kind", ""))
	for _, k := range []string{"", "a b", "x:y"} {
		if _, err := dflag.ActivateKind(k, ""); err == nil {
			t.Errorf("ActivateKind(%q) accepted an invalid kind", k)
		}
	}
}

// Declared once, so that the test can run again (go test -count=2).
var (
	heldEarly    = dflag.Opt("held", "early")
	heldUnhooked = dflag.Opt("held", "unhooked")
)

func TestHoldKindAppliesToLaterFlags(t *testing.T) {
	dflagtest.Reset(t)
	early := heldEarly
	unhooked := heldUnhooked
	dflag.Unhook("held:unhooked")
	release, err := dflag.HoldKind("held")
	if err != nil {
		t.Fatal(err)
	}
	late := dflag.Opt("held", "late")
	if !early.On() || !late.On() || unhooked.On() {
		t.Fatalf("held: early %v late %v unhooked %v", early.On(), late.On(), unhooked.On())
	}
	release()
	release() // idempotent
	if early.On() || late.On() || state(t, late).Activation != 0 {
		t.Fatal("release left flags on")
	}
	if after := dflag.Opt("held", "after"); after.On() {
		t.Fatal("a flag registered after release is on")
	}
	if _, err := dflag.HoldKind("not a kind"); err == nil {
		t.Fatal("HoldKind accepted an invalid kind")
	}
}

// Declared once, so that the test can run again (go test -count=2).
var (
	applyF = dflag.Feature("apply", "x")
	applyG = dflag.Feature("apply", "y")
)

func TestApplyIsAllOrNothing(t *testing.T) {
	dflagtest.Reset(t)
	f := applyF
	g := applyG
	before := snapshot(t)
	for _, terms := range [][]string{
		{"+apply:x", "+("}, {"+apply:x", "*apply:y"}, {"+apply:x", ""}, {"-apply:x", "?["},
	} {
		err := dflag.Apply(terms...)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", terms[1])) && terms[1] != "" {
			t.Errorf("Apply(%q) = %v, want an error naming %q", terms, err, terms[1])
		}
	}
	if after := snapshot(t); !reflect.DeepEqual(before, after) {
		t.Fatal("a rejected Apply changed state")
	}
	if err := dflag.Apply("+apply:", "!apply:y", "-apply:y", "+apply:y"); err != nil {
		t.Fatal(err)
	}
	if !f.On() || g.On() || state(t, g).Unhook != 1 {
		t.Fatalf("terms not applied in order: x %+v y %+v", state(t, f), state(t, g))
	}
	if err := dflag.Apply("?apply:y", "+apply:y"); err != nil || !g.On() {
		t.Fatalf("rehook then activate: %v, on %v", err, g.On())
	}
}

func TestParseTerms(t *testing.T) {
	for spec, want := range map[string][]string{
		"":                                 nil,
		"  +a  -b\t!c\n?d ":                {"+a", "-b", "!c", "?d"},
		`+"a b" -` + "`c\\.d`" + ` +"\"q"`: {"+a b", `-c\.d`, `+"q`},
		"+":                                {"+"},
	} {
		got, err := dflag.ParseTerms(spec)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseTerms(%q) = %q, %v; want %q", spec, got, err, want)
		}
	}
	for _, spec := range []string{"a", "+a *b", `+"a`, `+"a"b`, "+(", `+"("`} {
		if _, err := dflag.ParseTerms(spec); err == nil {
			t.Errorf("ParseTerms(%q) accepted a malformed spec", spec)
		}
	}
	if _, err := dflag.ParseTermsFile([]byte("+a b\n")); err == nil {
		t.Error("ParseTermsFile accepted a bare word as a term")
	}
	got, err := dflag.ParseTermsFile([]byte("# comment\n\n  +a !b\n-\"c d\"\n"))
	if err != nil || !slices.Equal(got, []string{"+a", "!b", "-c d"}) {
		t.Errorf("ParseTermsFile = %q, %v", got, err)
	}
	if _, err := dflag.ParseTermsFile([]byte("+a\n+(\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("ParseTermsFile error %v does not name line 2", err)
	}
}

// Declared once, so that the test can run again (go test -count=2).
var (
	cmdlineF = dflag.Feature("cmdline", "x")
)

func TestTermsFlagValue(t *testing.T) {
	dflagtest.Reset(t)
	f := cmdlineF
	fs := flag.NewFlagSet("prog", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	var terms dflag.Terms
	fs.Var(&terms, "dflag", "dflag terms")
	if err := fs.Parse([]string{"-dflag=+cmdline:x", "-dflag", "!cmdline:x"}); err != nil {
		t.Fatal(err)
	}
	if !f.On() || state(t, f).Unhook != 1 || terms.String() != "+cmdline:x !cmdline:x" {
		t.Fatalf("terms %q, state %+v", terms.String(), state(t, f))
	}
	before := snapshot(t)
	if err := fs.Parse([]string{"-dflag=-cmdline:x +("}); err == nil {
		t.Fatal("a malformed -dflag was accepted")
	}
	if after := snapshot(t); !reflect.DeepEqual(before, after) {
		t.Fatal("a malformed -dflag changed state")
	}
}

// TestInitAppliesEnvironment runs the test binary again with DFLAG and
// DFLAG_FILE set; the child checks the result in TestInitChild.
func TestInitAppliesEnvironment(t *testing.T) {
	file := filepath.Join(t.TempDir(), "terms")
	os.WriteFile(file, []byte("# operators' file\n+ctor:opt\n+ctor:feature\n"), 0o644)
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("+ctor:opt\n+(\n"), 0o644)
	for _, c := range []struct {
		name, dflag, file, want, owners string
		strict, log                     string
	}{
		{"a term matching nothing warns", "-breakr: +ctor:opt", "", "feature=false default=true opt=true err=<nil>", "opt=[env:DFLAG [+ctor:opt]] default=[]",
			"", `WARN dflag: a startup term matches no flag: check it for a typo (DFLAG_STRICT=1 makes this an error) term=-breakr: source=env:DFLAG`},
		{"strict refuses a term matching nothing", "-breakr: +ctor:opt", "", `feature=false default=true opt=false err=dflag: DFLAG_STRICT is set and term "-breakr:" (env:DFLAG) matches no flag, so no term was applied`, "opt=[] default=[]",
			"1", ""},
		{"strict accepts terms that match", "+ctor:opt", "", "feature=false default=true opt=true err=<nil>", "opt=[env:DFLAG [+ctor:opt]] default=[]", "1", ""},
		{"strict malformed", "+ctor:opt", "", `feature=false default=true opt=false err=dflag: DFLAG_STRICT="yes": want 1`, "opt=[] default=[]", "yes", ""},
		{"env", `+"ctor:opt" -ctor:default`, "", "feature=false default=false opt=true err=<nil>", "opt=[env:DFLAG [+ctor:opt]] default=[env:DFLAG [-ctor:default]]", "", ""},
		{"file then env", "-ctor:feature +ctor:opt", file, "feature=false default=true opt=true err=<nil>", "opt=[env:DFLAG [+ctor:opt] env:DFLAG_FILE [+ctor:opt]] default=[]", "", ""},
		{"malformed", "+ctor:opt +(", "", `feature=false default=true opt=false err=dflag: term "+(": invalid pattern`, "opt=[] default=[]", "", ""},
		{"malformed file", "", bad, `feature=false default=true opt=false err=dflag: DFLAG_FILE ` + bad + `: line 2: term "+(": invalid pattern`, "opt=[] default=[]", "", ""},
		{"missing file", "", file + ".missing", "feature=false default=true opt=false err=dflag: DFLAG_FILE: open", "opt=[] default=[]", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestInitChild$", "-test.v")
			cmd.Env = append(os.Environ(), "DFLAG_TEST_CHILD=1", "DFLAG="+c.dflag, "DFLAG_FILE="+c.file, "DFLAG_STRICT="+c.strict)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "child: "+c.want) {
				t.Fatalf("child output does not contain %q:\n%s", c.want, out)
			}
			if (c.log == "") == strings.Contains(string(out), "matches no flag: check it") || !strings.Contains(string(out), c.log) {
				t.Fatalf("child output does not log %q:\n%s", c.log, out)
			}
			if !strings.Contains(string(out), "child owners: "+c.owners+"\n") {
				t.Fatalf("child output does not contain owners %q:\n%s", c.owners, out)
			}
		})
	}
}

func TestInitChild(t *testing.T) {
	if os.Getenv("DFLAG_TEST_CHILD") == "" {
		t.Skip("run by TestInitAppliesEnvironment")
	}
	err := dflag.Init() // returns the first call's result
	t.Logf("child: feature=%v default=%v opt=%v err=%v", ctorFeature.On(), ctorDefault.On(), ctorOpt.On(), err)
	owners := func(f *dflag.Flag) string {
		var s []string
		for _, o := range f.State().Owners {
			if !o.Once {
				t.Errorf("%s: startup owner %s not marked Once", f.Name(), o.Name)
			}
			s = append(s, fmt.Sprintf("%s %v", o.Name, o.Terms))
		}
		return fmt.Sprint(s)
	}
	t.Logf("child owners: opt=%s default=%s", owners(ctorOpt), owners(ctorDefault))
}

// Declared once, so that the test can run again (go test -count=2).
var (
	listingA = dflag.Feature("listing", "same")
	listingB = dflag.Feature("listing", "same", "short doc")
	listingC = dflag.Feature("listing", "same", "a longer doc")
	listingD = dflag.Feature("listing", "other")
)

func TestListOrderAndFormat(t *testing.T) {
	dflagtest.Reset(t)
	// Same kind, name and file: records with a docstring first, longer
	// docstrings first, then by line.
	a := listingA
	b := listingB
	c := listingC
	d := listingD
	dflag.Activate("listing:other")
	dflag.Activate("listing:other")
	dflag.Unhook("listing:other")
	states, err := dflag.List("listing:")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range states {
		got = append(got, s.Name)
	}
	if want := []string{d.Name(), c.Name(), b.Name(), a.Name()}; !slices.Equal(got, want) {
		t.Fatalf("List order\n got %q\nwant %q", got, want)
	}
	var w strings.Builder
	if err := dflag.WriteList(&w, "listing:"); err != nil {
		t.Fatal(err)
	}
	want := d.Name() + " (2, unhook=1)\n" + c.Name() + " (off): a longer doc\n" + b.Name() + " (off): short doc\n" + a.Name() + " (off)\n"
	if w.String() != want {
		t.Fatalf("WriteList\n got %q\nwant %q", w.String(), want)
	}
}

// linesFlags are three records, two with the same full name (declared in a
// loop on one line), declared once so that the test can run again.
var linesFlags = func() []*dflag.Flag {
	var fs []*dflag.Flag
	for range 2 {
		fs = append(fs, dflag.Feature("lines", "x"))
	}
	return append(fs, dflag.Feature("lines", "x"))
}()

func TestLinesCompareAsNumbers(t *testing.T) {
	// Names that differ only in the line number sort numerically; the
	// helper declares on a line with fewer digits than this test's lines
	// only if the file is short, so compare two lines of this file.
	states, _ := dflag.List("lines:")
	if len(states) != 3 || states[0].Line > states[2].Line || states[1].Line > states[2].Line {
		t.Fatalf("not sorted by line: %+v", states)
	}
	// Duplicate full names (declared in a loop on one line) list once.
	var w strings.Builder
	dflag.WriteList(&w, "lines:")
	if n := strings.Count(w.String(), "\n"); n != 2 {
		t.Fatalf("WriteList printed %d lines for 2 distinct names:\n%s", n, w.String())
	}
}

func TestConcurrentOnAndControl(t *testing.T) {
	var flags []*dflag.Flag
	for range 10 {
		flags = append(flags, dflag.Opt("conc", "x"))
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var seen atomic.Int64
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				for _, f := range flags {
					if f.On() {
						seen.Add(1)
					}
				}
			}
		})
	}
	var ctl sync.WaitGroup
	for g := range 4 {
		ctl.Go(func() {
			// At least 500 rounds, and until a reader has seen a flag on
			// (on a loaded machine the readers may not have run yet).
			for i := 0; i < 500 || seen.Load() == 0 && i < 1_000_000; i++ {
				switch (g + i) % 4 {
				case 0, 1:
					dflag.ActivateKind("conc", "")
					dflag.DeactivateKind("conc", "")
				case 2:
					dflag.Activate("conc:x")
					dflag.List("conc:")
					dflag.Deactivate("conc:x")
				case 3:
					rel, _ := dflag.HoldKind("conc")
					rel()
				}
			}
		})
	}
	ctl.Wait()
	stop.Store(true)
	wg.Wait()
	for _, f := range flags {
		if s := state(t, f); s.Activation != 0 || s.On {
			t.Fatalf("after balanced operations: %+v", s)
		}
	}
	if seen.Load() == 0 {
		t.Error("readers never saw a flag on")
	}
}

// Declared once, so that the test can run again (go test -count=2).
var (
	_ = dflag.Feature("watch", "x")
	_ = dflag.Feature("watch", "y")
)

func TestWatchReportsChanges(t *testing.T) {
	dflagtest.Reset(t)
	var got []dflag.Event
	var mu sync.Mutex
	stop := dflag.Watch(func(ev dflag.Event) {
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
	})
	dflag.Activate("watch:")
	dflag.ActivateKind("watch", "watch:x")
	stop()
	dflag.Deactivate("watch:")
	mu.Lock()
	defer mu.Unlock()
	want := []dflag.Event{
		{Op: dflag.OpActivate, Pattern: "watch:", Matched: 2, Flipped: 2},
		{Op: dflag.OpActivate, Kind: "watch", Pattern: "watch:x", Matched: 1},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events\n got %+v\nwant %+v", got, want)
	}
}

func TestCheckPattern(t *testing.T) {
	if err := dflag.CheckPattern("a.*b"); err != nil || dflag.ValidPattern("a.*b") != nil {
		t.Error(err)
	}
	if _, err := dflag.ActivateKind("", ""); err == nil || !strings.HasPrefix(err.Error(), "dflag: ") {
		t.Errorf("ActivateKind with an empty kind: %v; want a dflag: prefix", err)
	}
	if _, err := dflag.HoldKind("a b"); err == nil || !strings.HasPrefix(err.Error(), "dflag: ") {
		t.Errorf("HoldKind with an invalid kind: %v; want a dflag: prefix", err)
	}
	err := dflag.CheckPattern("a(")
	if err == nil || !strings.Contains(err.Error(), `"a("`) {
		t.Errorf("ValidPattern(a() = %v", err)
	}
	var target interface{ Unwrap() error }
	if !errors.As(err, &target) {
		t.Error("the pattern error does not wrap the regexp error")
	}
}
