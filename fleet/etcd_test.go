package fleet

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"

	"bounded.dev/fleet/etcdtest"
)

// newEtcd starts a real etcd (bounded.dev/fleet/etcdtest), stopped at the
// end of the test, after the test's bridges, which must be closed or cut
// off first. With certs it serves TLS, requiring client certificates if
// clientAuth.
func newEtcd(t testing.TB, certs *testCerts, clientAuth bool) *etcdtest.Server {
	t.Helper()
	opts := []etcdtest.Option{etcdtest.WithName("fleet-test")}
	if certs != nil {
		opts = append(opts, etcdtest.WithTLS(transport.TLSInfo{
			CertFile:       certs.serverCert,
			KeyFile:        certs.serverKey,
			TrustedCAFile:  certs.caCert,
			ClientCertAuth: clientAuth,
		}, certs.clientTLS(t)))
	}
	return etcdtest.Start(t, opts...)
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
