package etcdtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Server is a single-member etcd embedded in the test.
type Server struct {
	t            testing.TB
	dir          string
	name         string
	client, peer url.URL
	tlsInfo      *transport.TLSInfo
	clientTLS    *tls.Config
	e            *embed.Etcd
	cli          *clientv3.Client
}

// An Option configures a [Server].
type Option func(*Server)

// WithName sets the member's name (default "etcdtest").
func WithName(name string) Option { return func(s *Server) { s.name = name } }

// WithTLS serves clients over TLS with the server certificate, key and
// client CA that info names (info.ClientCertAuth requires client
// certificates); the server's own client uses client.
func WithTLS(info transport.TLSInfo, client *tls.Config) Option {
	return func(s *Server) { s.tlsInfo, s.clientTLS = &info, client }
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("etcdtest: no free loopback port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts an etcd, stopped when the test ends, and fails the test if
// it cannot.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := New(t, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// New is [Start] that returns the error instead (for a test that skips
// when etcd cannot start).
func New(t testing.TB, opts ...Option) (*Server, error) {
	t.Helper()
	s := &Server{t: t, dir: t.TempDir(), name: "etcdtest"}
	for _, o := range opts {
		o(s)
	}
	scheme := "http"
	if s.tlsInfo != nil {
		scheme = "https"
	}
	s.client = url.URL{Scheme: scheme, Host: fmt.Sprintf("127.0.0.1:%d", FreePort(t))}
	s.peer = url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", FreePort(t))}
	if err := s.start(); err != nil {
		return nil, err
	}
	t.Cleanup(s.Stop)
	return s, nil
}

func (s *Server) start() error {
	cfg := embed.NewConfig()
	cfg.Name = s.name
	cfg.Dir = s.dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.ListenClientUrls = []url.URL{s.client}
	cfg.AdvertiseClientUrls = []url.URL{s.client}
	cfg.ListenPeerUrls = []url.URL{s.peer}
	cfg.AdvertisePeerUrls = []url.URL{s.peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.TickMs, cfg.ElectionMs = 10, 100
	cfg.BcryptCost = 4 // bcrypt.MinCost: password checks are slow under -race otherwise
	if s.tlsInfo != nil {
		cfg.ClientTLSInfo = *s.tlsInfo
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("etcdtest: starting embedded etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(20 * time.Second):
		e.Close()
		return fmt.Errorf("etcdtest: embedded etcd did not become ready in 20s")
	}
	s.e = e
	return nil
}

// Endpoint is the client address as host:port.
func (s *Server) Endpoint() string { return s.client.Host }

// URL is the client URL, http:// or https://.
func (s *Server) URL() string { return s.client.String() }

// Stop closes the server's client, then stops the server (see the package
// documentation: stop or cut other clients first). Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	if s.cli != nil {
		s.cli.Close()
		s.cli = nil
	}
	if s.e != nil {
		s.e.Close()
		s.e = nil
	}
}

// Restart starts the stopped server again on the same ports, with the same
// data unless [Server.Wipe] was called. It fails the test if it cannot.
func (s *Server) Restart() {
	s.t.Helper()
	if s.e != nil {
		s.t.Fatal("etcdtest: Restart of a running server (call Stop first)")
	}
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

// Wipe gives the next [Server.Restart] an empty data directory: a new
// cluster.
func (s *Server) Wipe() { s.dir = s.t.TempDir() }

// Client returns the server's own client (made on first use, closed by
// [Server.Stop]).
func (s *Server) Client() *clientv3.Client {
	s.t.Helper()
	if s.cli == nil {
		cli, err := clientv3.New(clientv3.Config{
			Endpoints:   []string{s.client.String()},
			DialTimeout: 5 * time.Second,
			Logger:      zap.NewNop(),
			TLS:         s.clientTLS,
		})
		if err != nil {
			s.t.Fatalf("etcdtest: client: %v", err)
		}
		s.cli = cli
	}
	return s.cli
}

// SetClient closes the server's own client and makes cli the one that
// [Server.Client] returns and [Server.Stop] closes (a root client once
// authentication is on, say).
func (s *Server) SetClient(cli *clientv3.Client) {
	if s.cli != nil {
		s.cli.Close()
	}
	s.cli = cli
}

// Put writes k = v and returns the revision of the write.
func (s *Server) Put(k, v string) int64 {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := s.Client().Put(ctx, k, v)
	if err != nil {
		s.t.Fatalf("etcd put %s: %v", k, err)
	}
	return resp.Header.Revision
}

// Delete deletes k and returns the revision of the delete.
func (s *Server) Delete(k string) int64 {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := s.Client().Delete(ctx, k)
	if err != nil {
		s.t.Fatalf("etcd delete %s: %v", k, err)
	}
	return resp.Header.Revision
}
