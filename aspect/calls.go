package aspect

import "bounded.dev/dflag"

// OptCalls registers every direct call to fn as an Opt call site of the
// kind, as [dflag.OptCalls] does: each call is switched off (patched out)
// after dflag.Init unless the kind is active, and on while it is, including
// activations taken before the registration.
func (k *Kind) OptCalls(name string, fn any, doc ...string) (int, error) {
	return dflag.OptCalls(k.name, name, fn, doc...)
}

// DefaultCalls registers every direct call to fn as a Default call site of
// the kind, as [dflag.DefaultCalls] does: the calls run until deactivated.
func (k *Kind) DefaultCalls(name string, fn any, doc ...string) (int, error) {
	return dflag.DefaultCalls(k.name, name, fn, doc...)
}
