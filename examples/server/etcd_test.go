package main

import (
	"os"
	"testing"

	"bounded.dev/fleet/etcdtest"
)

// newEtcd starts a real etcd embedded in the test (bounded.dev/fleet/etcdtest,
// the set-up of bounded.dev/fleet's tests), stopped when the test ends.
// Clients must be gone before it stops, or each stop waits about 7 s for
// their streams: the servers reach it through an etcdtest.Proxy that is
// cut before. If it cannot start, the test is skipped, unless
// BOUNDED_REQUIRE_TOOLS=1.
func newEtcd(t testing.TB) *etcdtest.Server {
	t.Helper()
	te, err := etcdtest.New(t, etcdtest.WithName("example-server-test"))
	if err != nil {
		if os.Getenv("BOUNDED_REQUIRE_TOOLS") == "1" {
			t.Fatalf("embedded etcd (BOUNDED_REQUIRE_TOOLS=1): %v", err)
		}
		t.Skipf("embedded etcd cannot start here: %v", err)
	}
	return te
}
