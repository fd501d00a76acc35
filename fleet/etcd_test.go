package fleet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// testEtcd is a real single-member etcd embedded in the test, on loopback
// ports, with its data in a t.TempDir.
type testEtcd struct {
	t          testing.TB
	dir        string
	client     url.URL
	peer       url.URL
	tls        *testCerts // nil: plain text
	clientAuth bool       // require client certificates
	e          *embed.Etcd
	admin      *clientv3.Client
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

// newEtcd starts an etcd; it is stopped at the end of the test (after the
// test's bridges, which must be closed first: see stop).
func newEtcd(t testing.TB, certs *testCerts, clientAuth bool) *testEtcd {
	t.Helper()
	scheme := "http"
	if certs != nil {
		scheme = "https"
	}
	te := &testEtcd{
		t:          t,
		dir:        t.TempDir(),
		client:     url.URL{Scheme: scheme, Host: fmt.Sprintf("127.0.0.1:%d", freePort(t))},
		peer:       url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", freePort(t))},
		tls:        certs,
		clientAuth: clientAuth,
	}
	te.start()
	t.Cleanup(te.stop)
	return te
}

// endpoint is the client address as host:port.
func (te *testEtcd) endpoint() string { return te.client.Host }

func (te *testEtcd) start() {
	t := te.t
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Name = "fleet-test"
	cfg.Dir = te.dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.ListenClientUrls = []url.URL{te.client}
	cfg.AdvertiseClientUrls = []url.URL{te.client}
	cfg.ListenPeerUrls = []url.URL{te.peer}
	cfg.AdvertisePeerUrls = []url.URL{te.peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.TickMs, cfg.ElectionMs = 10, 100
	cfg.BcryptCost = 4 // bcrypt.MinCost: password checks are slow under -race otherwise
	if te.tls != nil {
		cfg.ClientTLSInfo = transport.TLSInfo{
			CertFile:       te.tls.serverCert,
			KeyFile:        te.tls.serverKey,
			TrustedCAFile:  te.tls.caCert,
			ClientCertAuth: te.clientAuth,
		}
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("starting embedded etcd: %v", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(20 * time.Second):
		e.Close()
		t.Fatal("embedded etcd did not become ready in 20s")
	}
	te.e = e
}

// stop stops the server (closing the test's admin client first: an etcd
// stopped with plain-text clients still attached waits ~7s for them).
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

// wipe gives the next start an empty data directory: a new cluster.
func (te *testEtcd) wipe() {
	te.dir = te.t.TempDir()
}

// kv is an admin client (root when auth is on).
func (te *testEtcd) kv() *clientv3.Client {
	t := te.t
	t.Helper()
	if te.admin != nil {
		return te.admin
	}
	cfg := clientv3.Config{
		Endpoints:   []string{te.client.String()},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	}
	if te.tls != nil {
		cfg.TLS = te.tls.clientTLS(t)
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	te.admin = cli
	return cli
}

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

func (te *testEtcd) del(k string) {
	te.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := te.kv().Delete(ctx, k); err != nil {
		te.t.Fatalf("etcd delete %s: %v", k, err)
	}
}

// testCerts is a CA and the certificates it signed, as PEM files.
type testCerts struct {
	dir                   string
	caCert                string
	serverCert, serverKey string
	clientCert, clientKey string
	otherCA               string // a CA that signed nothing here
	caPool                *x509.CertPool
}

func newCerts(t testing.TB) *testCerts {
	t.Helper()
	dir := t.TempDir()
	c := &testCerts{dir: dir}
	caKey, caCert, caDER := makeCA(t, "fleet test CA")
	c.caCert = writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)
	c.caPool = x509.NewCertPool()
	c.caPool.AddCert(caCert)
	_, _, otherDER := makeCA(t, "unrelated CA")
	c.otherCA = writePEM(t, dir, "other-ca.pem", "CERTIFICATE", otherDER)
	c.serverCert, c.serverKey = makeLeaf(t, dir, "server", caCert, caKey, x509.ExtKeyUsageServerAuth)
	c.clientCert, c.clientKey = makeLeaf(t, dir, "client", caCert, caKey, x509.ExtKeyUsageClientAuth)
	return c
}

func (c *testCerts) clientTLS(t testing.TB) *tls.Config {
	cert, err := tls.LoadX509KeyPair(c.clientCert, c.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: c.caPool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

func makeCA(t testing.TB, cn string) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert, der
}

func makeLeaf(t testing.TB, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name+".pem", "CERTIFICATE", der), writePEM(t, dir, name+"-key.pem", "PRIVATE KEY", kder)
}

func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// cutProxy forwards a loopback port to etcd and can cut every connection
// at once, as a stopped or unreachable etcd does, so that the server can
// then be stopped without waiting for its clients' streams to drain.
type cutProxy struct {
	t      testing.TB
	addr   string // host:port clients dial
	target string

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
