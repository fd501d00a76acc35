package etcdtest_test

import (
	"context"
	"net"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"bounded.dev/fleet/etcdtest"
)

func get(t *testing.T, cli *clientv3.Client, k string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, k)
	if err != nil {
		t.Fatalf("get %s: %v", k, err)
	}
	if len(resp.Kvs) == 0 {
		return "", false
	}
	return string(resp.Kvs[0].Value), true
}

// TestServer writes and deletes through the server's client, reads through
// a client of its own (via a proxy), restarts with the data kept, and
// wipes it: the new cluster has lost the key and counts revisions afresh.
func TestServer(t *testing.T) {
	s := etcdtest.Start(t, etcdtest.WithName("etcdtest-test"))
	p := etcdtest.NewProxy(t, s.Endpoint())
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{p.Addr()}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	r1 := s.Put("/a", "1")
	r2 := s.Put("/b", "2")
	if r2 <= r1 {
		t.Errorf("revisions %d then %d", r1, r2)
	}
	if r3 := s.Delete("/b"); r3 <= r2 {
		t.Errorf("delete at revision %d after %d", r3, r2)
	}
	if v, ok := get(t, cli, "/a"); v != "1" || !ok {
		t.Errorf("/a = %q, %v", v, ok)
	}
	if _, ok := get(t, cli, "/b"); ok {
		t.Errorf("/b not deleted")
	}

	p.Cut()
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		c.Close()
		t.Errorf("the cut proxy accepts connections")
	}
	s.Stop()
	s.Restart()
	p.Restore()
	if v, ok := get(t, cli, "/a"); v != "1" || !ok {
		t.Errorf("after restart /a = %q, %v", v, ok)
	}

	p.Cut()
	s.Stop()
	s.Wipe()
	s.Restart()
	p.Restore()
	if _, ok := get(t, cli, "/a"); ok {
		t.Errorf("/a survived the wipe")
	}
	if r := s.Put("/c", "3"); r >= r2 {
		t.Errorf("the wiped cluster wrote at revision %d, want below %d", r, r2)
	}
}
