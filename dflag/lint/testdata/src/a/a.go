package a

import (
	"b"

	"bounded.dev/aspect"
	"bounded.dev/dflag"
)

var tracing = aspect.New("request_tracing") // want tracing:`kind "request_tracing"`

var badAspect = aspect.New("request-tracing") // want `aspect.New: kind "request-tracing" is not an identifier` badAspect:`kind "request-tracing"`

var (
	ok1      = dflag.Feature("feature", "ok1", "a feature")
	ok2, ok3 = dflag.Default("breaker", "ok2"), dflag.Opt("trace", "ok3", "doc", "more")
	okSlice  = []*dflag.Flag{dflag.Opt("trace", "in_slice")}
	okAspect = tracing.Opt("db_query", "trace SQL")
	okRemote = b.Kind.Default("remote")
	okWrap   = myOpt("wrapped")
	okWrapB  = b.Opt("wrapped_b")
	declared = dflag.Declare(0, dflag.OptMode, "k", "declared")

	badKind   = dflag.Opt("my-kind", "x")                             // want `dflag.Opt: kind "my-kind" is not an identifier`
	emptyKind = dflag.Opt("", "x")                                    // want `kind "" is not an identifier`
	digitKind = dflag.Opt("9lives", "x")                              // want `kind "9lives" is not an identifier`
	emptyName = dflag.Feature("k", "")                                // want `dflag.Feature: empty flag name`
	atName    = dflag.Feature("k", "a@b")                             // want `flag name "a@b" contains '@'`
	nlName    = tracing.Opt("a\nb")                                   // want `\(\*aspect.Kind\).Opt: flag name "a\\nb" contains`
	inLit     = func() *dflag.Flag { return dflag.Opt("k", "lit") }() // want `dflag.Opt called in a function literal`
	wrapKind  = badWrap("x")
)

const kindConst = "const_kind"

var okConst = dflag.Opt(kindConst, "from_const")

func myOpt(name string) *dflag.Flag { // want myOpt:`constructor\(kind="wrapped_kind"/-1 name=0 opt\)`
	return dflag.Declare(1, dflag.OptMode, "wrapped_kind", name)
}

func badWrap(kind string) *dflag.Flag { // want badWrap:`constructor\(kind=""/0 name=-1 opt\)`
	return dflag.Declare(1, dflag.OptMode, kind, "n")
}

var _ = badWrap("not ok") // want `badWrap: kind "not ok" is not an identifier`

func f(kind string) {
	_ = dflag.Opt("k", "in_func")                       // want `dflag.Opt called in function f: each call declares a new flag record`
	_ = tracing.Feature("in_func")                      // want `\(\*aspect.Kind\).Feature called in function f`
	_ = myOpt("in_func")                                // want `myOpt called in function f`
	_ = b.Opt("in_func")                                // want `Opt called in function f`
	_ = dflag.Declare(0, dflag.OptMode, "k", "in_func") // want `dflag.Declare called in function f`
	_ = dflag.Opt(kind, "dynamic")                      // want `dflag.Opt called in function f`
}

func init() {
	_ = dflag.Default("k", "in_init") // want `dflag.Default called in function init`
}

//go:noinline
func freeFast() {} // want freeFast:"noinline"

func freeInlined() {}

type T struct{}

func (T) M() {}

//go:noinline
func G[X any]() {} // want G:"noinline"

func register() {
	dflag.OptCalls("k", "ok", freeFast)
	dflag.DefaultCalls("k", "ok_b", b.Noinline)
	dflag.OptCalls("k", "inl", freeInlined)     // want `dflag.OptCalls: freeInlined is not marked //go:noinline`
	dflag.DefaultCalls("k", "inl_b", b.Inlined) // want `dflag.DefaultCalls: b.Inlined is not marked //go:noinline`
	dflag.OptCalls("k", "paren", (freeInlined)) // want `freeInlined is not marked`
	dflag.OptCalls("k", "lit", func() {})       // want `a function literal has no call sites to patch`
	dflag.OptCalls("k", "meth", T{}.M)          // want `a method value cannot be patched`
	dflag.OptCalls("k", "methexpr", T.M)        // want `a method expression cannot be patched`
	dflag.OptCalls("k", "gen", G[int])          // want `a generic instantiation cannot be patched`
	tracing.OptCalls("call", freeInlined)       // want `\(\*aspect.Kind\).OptCalls: freeInlined is not marked //go:noinline`
	tracing.DefaultCalls("call", freeFast)
	dflag.OptCalls("bad kind", "", freeFast) // want `kind "bad kind" is not an identifier` `empty flag name`
	dflag.ActivateKind("bad-kind", "")       // want `dflag.ActivateKind: kind "bad-kind" is not an identifier \(\[A-Za-z_\]\[A-Za-z0-9_\]\*\); it is refused at run time with an error`
	dflag.HoldKind("ok_kind")
	dflag.NewKindHold("bad kind", "owner") // want `dflag.NewKindHold: kind "bad kind" is not an identifier`
	v := freeInlined
	dflag.OptCalls("k", "var", v) // a variable is checked at run time
}

var ignored = func() []*dflag.Flag { //dflaglint:ignore ten records on one line, on purpose
	var fs []*dflag.Flag
	for range 10 {
		fs = append(fs, dflag.Opt("k", "loop")) //dflaglint:ignore
	}
	return fs
}()

func ignoredAbove() {
	//dflaglint:ignore tested elsewhere
	_ = dflag.Opt("k", "ignored")
}
