// Package aspect is a stub of bounded.dev/aspect's API for the analyzer's tests.
package aspect

import "bounded.dev/dflag"

type Kind struct{ name string }

func New(kind string) *Kind { return &Kind{kind} }

func (k *Kind) Opt(name string, doc ...string) *dflag.Flag {
	return dflag.Declare(1, dflag.OptMode, k.name, name, doc...)
}

func (k *Kind) Default(name string, doc ...string) *dflag.Flag {
	return dflag.Declare(1, dflag.DefaultMode, k.name, name, doc...)
}

func (k *Kind) Feature(name string, doc ...string) *dflag.Flag {
	return dflag.Declare(1, dflag.FeatureMode, k.name, name, doc...)
}

func (k *Kind) OptCalls(name string, fn any, doc ...string) (int, error) {
	return dflag.OptCalls(k.name, name, fn, doc...)
}

func (k *Kind) DefaultCalls(name string, fn any, doc ...string) (int, error) {
	return dflag.DefaultCalls(k.name, name, fn, doc...)
}
