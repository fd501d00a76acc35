package fleet

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"bounded.dev/fleet/etcdtest"
)

// packagedEtcd is an etcd server binary (Debian's etcd-server) run as its
// own process on loopback ports.
type packagedEtcd struct {
	t            testing.TB
	bin, dir     string
	client, peer string
	cmd          *exec.Cmd
}

func (pe *packagedEtcd) start() {
	t := pe.t
	t.Helper()
	cu, pu := "http://"+pe.client, "http://"+pe.peer
	pe.cmd = exec.Command(pe.bin, "--name", "fleet-test", "--data-dir", pe.dir,
		"--listen-client-urls", cu, "--advertise-client-urls", cu,
		"--listen-peer-urls", pu, "--initial-advertise-peer-urls", pu,
		"--initial-cluster", "fleet-test="+pu,
		"--heartbeat-interval", "10", "--election-timeout", "100")
	if err := pe.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{cu}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		c2, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
		_, err := cli.Get(c2, "health")
		cancel2()
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("%s did not serve in 20s: %v", pe.bin, err)
		}
	}
}

// crash kills the server (etcd is crash-safe; a kill also spares the wait
// of a graceful stop with clients attached).
func (pe *packagedEtcd) crash() {
	if pe.cmd != nil {
		pe.cmd.Process.Kill()
		pe.cmd.Wait()
		pe.cmd = nil
	}
}

func (pe *packagedEtcd) put(k, v string) {
	pe.t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://" + pe.client}, Logger: zap.NewNop()})
	if err != nil {
		pe.t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, k, v); err != nil {
		pe.t.Fatal(err)
	}
}

func TestDebianEtcdServer(t *testing.T) {
	bin := "/usr/bin/etcd"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("BOUNDED_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s missing (BOUNDED_REQUIRE_TOOLS=1): run .ci/install-etcd", bin)
		}
		t.Skipf("%s missing: apt-get install etcd-server (or run .ci/install-etcd) to test against Debian's etcd", bin)
	}
	out, _ := exec.Command(bin, "--version").Output()
	t.Logf("%s", firstLine(out))
	pe := &packagedEtcd{t: t, bin: bin, dir: t.TempDir(),
		client: fmt.Sprintf("127.0.0.1:%d", etcdtest.FreePort(t)), peer: fmt.Sprintf("127.0.0.1:%d", etcdtest.FreePort(t))}
	pe.start()
	t.Cleanup(pe.crash)
	countHolds(t)
	cfg, _ := testConfig(t, pe.client)
	p := cfg.Prefix
	pe.put(p+"a", "-breaker:deb")
	b := startBridge(t, cfg)
	if got := termsOf(b, p+"a"); got != "-breaker:deb" {
		t.Errorf("snapshot: %q", got)
	}
	pe.put(p+"a", "-breaker:deb2")
	waitTerms(t, b, p+"a", "-breaker:deb2")

	pe.crash()
	eventually(t, 5*time.Second, "disconnection", func() bool { return !b.Connected() })
	time.Sleep(time.Second)
	if got := termsOf(b, p+"a"); got != "-breaker:deb2" {
		t.Errorf("during the outage: %q", got)
	}
	pe.start()
	back := time.Now()
	pe.put(p+"a", "-breaker:deb3")
	waitTerms(t, b, p+"a", "-breaker:deb3")
	t.Logf("a change made as the packaged etcd came back arrived after %v", time.Since(back))

	pe.crash()
	pe.dir = t.TempDir() // restarted empty
	pe.start()
	waitTerms(t, b, p+"a", "<none>")
	eventually(t, 5*time.Second, "reconnection", b.Connected)
}

func firstLine(b []byte) string {
	for i, c := range b {
		if c == '\n' {
			return string(b[:i])
		}
	}
	return string(b)
}
