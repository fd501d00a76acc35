package fleet

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// notSynced starts a bridge that must not manage to read etcd, and returns
// its last error.
func notSynced(t *testing.T, cfg Config) string {
	t.Helper()
	lg := &syncLog{}
	cfg.Logger = slog.New(slog.NewTextHandler(lg, nil))
	b, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if err := b.WaitSynced(ctx); err == nil {
		t.Fatal("the bridge synced")
	}
	if b.Connected() {
		t.Fatal("the bridge reports connected")
	}
	eventually(t, 5*time.Second, "a last error", func() bool { return b.Status().LastError != "" })
	if !strings.Contains(lg.String(), "cannot read etcd") {
		t.Errorf("the failure is not logged:\n%s", lg)
	}
	return b.Status().LastError
}

func TestTLSWithClientCertificates(t *testing.T) {
	certs := newCerts(t)
	te := newEtcd(t, certs, true)
	countHolds(t)
	cfg, _ := testConfig(t, te.Endpoint()) // bare host:port: TLS because a CA is given
	cfg.CACert, cfg.Cert, cfg.Key = certs.caCert, certs.clientCert, certs.clientKey
	te.Put(cfg.Prefix+"a", "-breaker:tls")
	b := startBridge(t, cfg)
	if got := termsOf(b, cfg.Prefix+"a"); got != "-breaker:tls" {
		t.Errorf("over TLS: %q", got)
	}
	te.Put(cfg.Prefix+"a", "-breaker:tls2")
	waitTerms(t, b, cfg.Prefix+"a", "-breaker:tls2")

	t.Run("server certificate from another CA", func(t *testing.T) {
		bad := cfg
		bad.CACert = certs.otherCA
		bad.Prefix += "x/"
		if e := notSynced(t, bad); !strings.Contains(e, "certificate") {
			t.Errorf("last error %q does not say the certificate is wrong", e)
		}
	})
	t.Run("no client certificate", func(t *testing.T) {
		bad := cfg
		bad.Cert, bad.Key = "", ""
		bad.Prefix += "y/"
		notSynced(t, bad)
	})
	t.Run("plain text to a TLS server", func(t *testing.T) {
		bad := cfg
		bad.CACert, bad.Cert, bad.Key = "", "", ""
		bad.Endpoints = []string{"http://" + te.Endpoint()}
		bad.Prefix += "z/"
		notSynced(t, bad)
	})
}

func TestUserPasswordReadOnlyRole(t *testing.T) {
	te := newEtcd(t, nil, false)
	countHolds(t)
	cfg, _ := testConfig(t, te.Endpoint())
	p := cfg.Prefix
	te.Put(p+"a", "-breaker:auth")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// The role docs/fleet.md gives, made with the client API:
	//   etcdctl role add dflag-reader
	//   etcdctl role grant-permission dflag-reader --prefix=true read /dflag/
	//   etcdctl user add dflag-instance
	//   etcdctl user grant-role dflag-instance dflag-reader
	a := te.Client()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.RoleAdd(ctx, "dflag-reader"))
	must(a.RoleGrantPermission(ctx, "dflag-reader", p, clientv3.GetPrefixRangeEnd(p), clientv3.PermissionType(clientv3.PermRead)))
	must(a.UserAdd(ctx, "dflag-instance", "instance-pw"))
	must(a.UserGrantRole(ctx, "dflag-instance", "dflag-reader"))
	must(a.UserAdd(ctx, "root", "root-pw"))
	must(a.UserGrantRole(ctx, "root", "root"))
	must(a.AuthEnable(ctx))
	root, err := clientv3.New(clientv3.Config{Endpoints: []string{te.Endpoint()}, Username: "root", Password: "root-pw", Logger: zap.NewNop(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	te.SetClient(root)

	cfg.Username, cfg.Password = "dflag-instance", "instance-pw"
	b := startBridge(t, cfg)
	if got := termsOf(b, p+"a"); got != "-breaker:auth" {
		t.Errorf("with user and password: %q", got)
	}
	te.Put(p+"a", "-breaker:auth2")
	waitTerms(t, b, p+"a", "-breaker:auth2")

	// The instance's credentials read its prefix and nothing else, and write nothing.
	inst, err := clientv3.New(clientv3.Config{Endpoints: []string{te.Endpoint()}, Username: "dflag-instance", Password: "instance-pw", Logger: zap.NewNop(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	if _, err := inst.Put(ctx, p+"a", "+evil"); !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Errorf("instance put: %v, want permission denied", err)
	}
	if _, err := inst.Get(ctx, "/other/", clientv3.WithPrefix()); !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Errorf("instance read outside its prefix: %v, want permission denied", err)
	}

	t.Run("wrong password", func(t *testing.T) {
		bad := cfg
		bad.Password = "guess"
		bad.Prefix = p // same prefix, other owner names are not an issue: it never holds
		if e := notSynced(t, bad); !strings.Contains(e, "authentication failed") {
			t.Errorf("last error %q", e)
		}
	})
}
