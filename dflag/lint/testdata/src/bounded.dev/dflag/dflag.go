// Package dflag is a stub of bounded.dev/dflag's API for the analyzer's tests.
package dflag

type Flag struct{}

type Mode uint8

const (
	FeatureMode Mode = iota
	DefaultMode
	OptMode
)

func Feature(kind, name string, doc ...string) *Flag { return &Flag{} }
func Default(kind, name string, doc ...string) *Flag { return &Flag{} }
func Opt(kind, name string, doc ...string) *Flag     { return &Flag{} }

func Declare(skip int, mode Mode, kind, name string, doc ...string) *Flag { return &Flag{} }

func OptCalls(kind, name string, fn any, doc ...string) (int, error)     { return 0, nil }
func DefaultCalls(kind, name string, fn any, doc ...string) (int, error) { return 0, nil }

func ActivateKind(kind, pattern string) (int, error)   { return 0, nil }
func DeactivateKind(kind, pattern string) (int, error) { return 0, nil }
func HoldKind(kind string) (func(), error)             { return func() {}, nil }

type KindHold struct{}

func NewKindHold(kind, owner string) (*KindHold, error) { return &KindHold{}, nil }

func internalUse() {
	_ = Feature("k", "in_func") // the implementation package is not checked
}

// On is small enough to inline, as the real one is.
func (f *Flag) On() bool { return f != nil }
