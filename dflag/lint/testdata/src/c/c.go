package c

import (
	"b"

	"bounded.dev/aspect"
	"bounded.dev/dflag"
	"bounded.dev/phase"
)

var tracing = aspect.New("request_tracing") // want tracing:`kind "request_tracing"`

var (
	one = dflag.Feature("feature", "one", "a feature")
	two = dflag.Default("breaker",
		"two")
	three = tracing.Opt("db_query", "trace SQL", "statements")
	four  = b.Kind.Default("remote")
	five  = wrap("five")
	six   = dflag.Declare(0, dflag.DefaultMode, "declared", "six")
	seven = b.Opt("seven")
)

func wrap(name string) *dflag.Flag { // want wrap:`constructor`
	return dflag.Declare(1, dflag.FeatureMode, "wrapped", name, "via wrap")
}

//go:noinline
func free() {} // want free:"noinline"

func init() {
	dflag.OptCalls("breaker", "free", free, "nop free")
	tracing.DefaultCalls("calls", b.Noinline)
}

var stm = phase.Kind(phase.STM) // want stm:`kind "stm"`

var (
	eight = aspect.New("direct").Opt("eight")
	nine  = phase.Kind(phase.STM).Opt("nine")
	ten   = stm.Default("ten")
)

var steady = phase.Of(phase.SteadyState) // want steady:`kind "steady_state"`

var (
	eleven = phase.Of(phase.SteadyState).Kind().Opt("eleven")
	twelve = steady.Kind().Feature("twelve")
)

var alias = steady // want alias:`kind "steady_state"`

var thirteen = alias.Kind().Opt("thirteen")
