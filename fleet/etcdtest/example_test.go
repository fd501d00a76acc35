package etcdtest_test

import (
	"testing"

	"bounded.dev/fleet/etcdtest"
)

// A test against a real etcd that goes away and comes back: the code under
// test dials the proxy, which is cut before the server stops.
func Example() {
	var t *testing.T // the test's
	s := etcdtest.Start(t)
	p := etcdtest.NewProxy(t, s.Endpoint())
	_ = p.Addr() // give this to the code under test
	s.Put("/dflag/a", "-breaker:pay")

	p.Cut()
	s.Stop()
	s.Restart()
	p.Restore()
}
