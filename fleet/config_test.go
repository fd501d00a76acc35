package fleet

import (
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseEndpoint(t *testing.T) {
	for _, tc := range []struct {
		in       string
		tls      bool
		url      string
		loopback bool
		err      string
	}{
		{in: "127.0.0.1:2379", url: "http://127.0.0.1:2379", loopback: true},
		{in: "localhost:2379", url: "http://localhost:2379", loopback: true},
		{in: "[::1]:2379", url: "http://[::1]:2379", loopback: true},
		{in: "127.0.0.1:2379", tls: true, url: "https://127.0.0.1:2379", loopback: true},
		{in: "etcd.internal:2379", url: "http://etcd.internal:2379"},
		{in: "https://etcd.internal:2379", url: "https://etcd.internal:2379"},
		{in: "http://10.0.0.1:2379", url: "http://10.0.0.1:2379"},
		{in: "http://10.0.0.1:2379", tls: true, err: "http:// given while TLS"},
		{in: "unix:///run/etcd.sock", err: "scheme must be http or https"},
		{in: "etcd.internal", err: "missing port"},
		{in: ":2379", err: "no host"},
		{in: "h:0", err: "port must be"},
		{in: "h:99999", err: "port must be"},
		{in: "https://u:p@h:1", err: "only scheme, host and port"},
		{in: "https://h:1/v3", err: "only scheme, host and port"},
	} {
		ep, err := parseEndpoint(tc.in, tc.tls)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "fleet: ") {
				t.Errorf("parseEndpoint(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || ep.url != tc.url || ep.loopback != tc.loopback {
			t.Errorf("parseEndpoint(%q, %v) = %+v, %v; want %s loopback=%v", tc.in, tc.tls, ep, err, tc.url, tc.loopback)
		}
	}
}

func TestResolveRefusesPlaintextOffMachine(t *testing.T) {
	certs := newCerts(t)
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	for _, tc := range []struct {
		name string
		cfg  Config
		err  string // "" = accepted
		tls  bool
	}{
		{name: "loopback plain", cfg: Config{Endpoints: []string{"127.0.0.1:2379"}}},
		{name: "remote plain", cfg: Config{Endpoints: []string{"127.0.0.1:2379", "10.1.2.3:2379"}}, err: "refusing a plain-text connection to etcd at 10.1.2.3:2379"},
		{name: "remote plain allowed", cfg: Config{Endpoints: []string{"10.1.2.3:2379"}, InsecurePlaintext: true}},
		{name: "remote TLS by CA", cfg: Config{Endpoints: []string{"10.1.2.3:2379"}, CACert: certs.caCert}, tls: true},
		{name: "remote https URL", cfg: Config{Endpoints: []string{"https://etcd.example:2379"}}, tls: true},
		{name: "client cert", cfg: Config{Endpoints: []string{"h:1"}, CACert: certs.caCert, Cert: certs.clientCert, Key: certs.clientKey}, tls: true},
		{name: "cert without key", cfg: Config{Endpoints: []string{"h:1"}, Cert: certs.clientCert}, err: "needs both -etcd-cert and -etcd-key"},
		{name: "user without password", cfg: Config{Endpoints: []string{"127.0.0.1:1"}, Username: "u"}, err: "needs both a user"},
		{name: "missing CA file", cfg: Config{Endpoints: []string{"h:1"}, CACert: filepath.Join(t.TempDir(), "none.pem")}, err: "reading the etcd CA certificate"},
		{name: "CA file not PEM", cfg: Config{Endpoints: []string{"h:1"}, CACert: notPEM}, err: "holds no PEM certificate"},
		{name: "key not matching", cfg: Config{Endpoints: []string{"h:1"}, Cert: certs.clientCert, Key: certs.serverKey}, err: "loading the etcd client certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.cfg.resolve()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("resolve: %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (r.tls != nil) != tc.tls {
				t.Errorf("TLS config %v, want TLS %v", r.tls != nil, tc.tls)
			}
			if r.prefix != DefaultPrefix {
				t.Errorf("prefix %q", r.prefix)
			}
		})
	}
}

func TestRegisterFlagsAndEnvironment(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("s3cret\n"), 0o600)
	t.Setenv(EnvEndpoints, "10.0.0.1:2379, 10.0.0.2:2379")
	t.Setenv(EnvPrefix, "/env/")
	t.Setenv(EnvCACert, "/etc/ca.pem")
	t.Setenv(EnvUser, "instance")
	t.Setenv(EnvPasswordFile, pwFile)
	t.Setenv(EnvPlaintext, "true")

	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"-etcd-prefix", "/flag/", "-etcd-allow-match-all"}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Endpoints, ",") != "10.0.0.1:2379,10.0.0.2:2379" || c.Prefix != "/flag/" || c.CACert != "/etc/ca.pem" ||
		c.Username != "instance" || c.Password != "s3cret" || !c.InsecurePlaintext || !c.AllowMatchAll {
		t.Errorf("config from environment and flags: %+v", c)
	}
	if f := fs.Lookup("etcd"); f == nil || !strings.Contains(f.Usage, EnvEndpoints) {
		t.Error("-etcd does not name its environment variable")
	}
	if fs.Lookup("etcd-password") != nil {
		t.Error("a password flag would show the password in ps")
	}

	// The password itself from the environment.
	t.Setenv(EnvPasswordFile, "")
	t.Setenv(EnvPassword, "direct")
	c2, err := ConfigFromEnv()
	if err != nil || c2.Password != "direct" {
		t.Errorf("ConfigFromEnv: %+v, %v", c2, err)
	}

	// A malformed variable is reported by Start, not ignored.
	t.Setenv(EnvPlaintext, "perhaps")
	c3, err := ConfigFromEnv()
	if err == nil || !strings.Contains(err.Error(), EnvPlaintext) {
		t.Errorf("bad %s: %v", EnvPlaintext, err)
	}
	if _, err := Start(t.Context(), c3); err == nil || !strings.Contains(err.Error(), EnvPlaintext) {
		t.Errorf("Start with a bad %s: %v", EnvPlaintext, err)
	}
}

func TestStartWithoutEndpointsIsOff(t *testing.T) {
	b, err := Start(t.Context(), Config{})
	if b != nil || err != nil {
		t.Fatalf("Start(no endpoints) = %v, %v; want nil, nil", b, err)
	}
	// A nil bridge is usable.
	if err := b.Close(); err != nil {
		t.Error(err)
	}
	if st := b.Status(); st.Connected || len(st.Keys) != 0 {
		t.Errorf("nil bridge status %+v", st)
	}
	if err := b.WaitSynced(t.Context()); err == nil {
		t.Error("WaitSynced on a nil bridge succeeded")
	}
}

func TestInsecurePlaintextIsLogged(t *testing.T) {
	lg := &syncLog{}
	b, err := Start(t.Context(), Config{
		Endpoints: []string{"192.0.2.1:2379"}, InsecurePlaintext: true,
		Username: "u", Password: "p", DialTimeout: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(lg, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if s := lg.String(); !strings.Contains(s, "plain-text connection to etcd off this machine") || !strings.Contains(s, "password") {
		t.Errorf("log:\n%s", s)
	}
}
