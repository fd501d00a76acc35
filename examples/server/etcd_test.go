package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// testEtcd is a real single-member etcd embedded in the test, on loopback
// ports, with its data in a t.TempDir (the set-up of bounded.dev/fleet's
// tests). Clients must be gone before it stops, or each stop waits about
// 7 s for their streams: the test's own client is closed first, and the
// servers reach it through a cutProxy that is cut before.
type testEtcd struct {
	t            testing.TB
	dir          string
	client, peer url.URL
	e            *embed.Etcd
	admin        *clientv3.Client
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// newEtcd starts an etcd, stopped when the test ends. If it cannot start,
// the test is skipped, unless BOUNDED_REQUIRE_TOOLS=1.
func newEtcd(t testing.TB) *testEtcd {
	t.Helper()
	te := &testEtcd{
		t:      t,
		dir:    t.TempDir(),
		client: url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", freePort(t))},
		peer:   url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", freePort(t))},
	}
	if err := te.start(); err != nil {
		if os.Getenv("BOUNDED_REQUIRE_TOOLS") == "1" {
			t.Fatalf("embedded etcd (BOUNDED_REQUIRE_TOOLS=1): %v", err)
		}
		t.Skipf("embedded etcd cannot start here: %v", err)
	}
	t.Cleanup(te.stop)
	return te
}

// endpoint is the client address as host:port.
func (te *testEtcd) endpoint() string { return te.client.Host }

func (te *testEtcd) start() error {
	cfg := embed.NewConfig()
	cfg.Name = "example-server-test"
	cfg.Dir = te.dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.ListenClientUrls = []url.URL{te.client}
	cfg.AdvertiseClientUrls = []url.URL{te.client}
	cfg.ListenPeerUrls = []url.URL{te.peer}
	cfg.AdvertisePeerUrls = []url.URL{te.peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.TickMs, cfg.ElectionMs = 10, 100
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(20 * time.Second):
		e.Close()
		return fmt.Errorf("not ready in 20s")
	}
	te.e = e
	return nil
}

// restart starts the stopped server again on the same ports and data.
func (te *testEtcd) restart() {
	te.t.Helper()
	if err := te.start(); err != nil {
		te.t.Fatalf("restarting embedded etcd: %v", err)
	}
}

// stop closes the test's client, then the server.
func (te *testEtcd) stop() {
	if te.admin != nil {
		te.admin.Close()
		te.admin = nil
	}
	if te.e != nil {
		te.e.Close()
		te.e = nil
	}
}

func (te *testEtcd) kv() *clientv3.Client {
	te.t.Helper()
	if te.admin == nil {
		cli, err := clientv3.New(clientv3.Config{
			Endpoints:   []string{te.client.String()},
			DialTimeout: 5 * time.Second,
			Logger:      zap.NewNop(),
		})
		if err != nil {
			te.t.Fatal(err)
		}
		te.admin = cli
	}
	return te.admin
}

// put writes k and returns the revision of the write.
func (te *testEtcd) put(k, v string) int64 {
	te.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := te.kv().Put(ctx, k, v)
	if err != nil {
		te.t.Fatalf("etcd put %s: %v", k, err)
	}
	return resp.Header.Revision
}

// del deletes k and returns the revision of the delete.
func (te *testEtcd) del(k string) int64 {
	te.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := te.kv().Delete(ctx, k)
	if err != nil {
		te.t.Fatalf("etcd delete %s: %v", k, err)
	}
	return resp.Header.Revision
}

// cutProxy forwards a loopback port to etcd and can cut every connection
// at once, as an etcd that stops or becomes unreachable does, so that the
// embedded server can then stop without waiting for the servers' streams.
type cutProxy struct {
	t            testing.TB
	addr, target string

	mu    sync.Mutex
	l     net.Listener
	conns map[net.Conn]struct{}
}

func newCutProxy(t testing.TB, target string) *cutProxy {
	t.Helper()
	p := &cutProxy{t: t, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), target: target, conns: map[net.Conn]struct{}{}}
	p.restore()
	t.Cleanup(p.cut)
	return p
}

// cut closes the listener and every connection: new connections are refused.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// restore listens again on the same address.
func (p *cutProxy) restore() {
	p.t.Helper()
	var l net.Listener
	var err error
	for range 50 { // the port may linger briefly after a cut
		if l, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy listen %s: %v", p.addr, err)
	}
	p.mu.Lock()
	p.l = l
	p.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(l, c)
		}
	}()
}

func (p *cutProxy) serve(l net.Listener, c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.l != l { // cut meanwhile
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}
