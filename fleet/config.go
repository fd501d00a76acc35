package fleet

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// DefaultPrefix is the key prefix watched when Config.Prefix is empty.
const DefaultPrefix = "/dflag/"

// Environment variables read by [Config.RegisterFlags] and [ConfigFromEnv].
// A command-line flag given explicitly overrides its variable.
const (
	EnvEndpoints    = "DFLAG_ETCD_ENDPOINTS"     // -etcd: host:port[,host:port], or https:// URLs
	EnvPrefix       = "DFLAG_ETCD_PREFIX"        // -etcd-prefix
	EnvCACert       = "DFLAG_ETCD_CACERT"        // -etcd-cacert: PEM file of the CA that signed etcd's certificate
	EnvCert         = "DFLAG_ETCD_CERT"          // -etcd-cert: PEM client certificate
	EnvKey          = "DFLAG_ETCD_KEY"           // -etcd-key: PEM client key
	EnvUser         = "DFLAG_ETCD_USER"          // -etcd-user
	EnvPassword     = "DFLAG_ETCD_PASSWORD"      // the password itself (there is no flag for it)
	EnvPasswordFile = "DFLAG_ETCD_PASSWORD_FILE" // -etcd-password-file
	EnvStateFile    = "DFLAG_ETCD_STATE_FILE"    // -etcd-state-file
	EnvPlaintext    = "DFLAG_ETCD_INSECURE_PLAINTEXT"
)

// Config says which etcd to watch and how to reach it. The zero value
// (no endpoints) means fleet control is off: [Start] returns a nil *Bridge.
type Config struct {
	// Endpoints are etcd client addresses: host:port, or http:// or
	// https:// URLs. Bare host:port uses TLS when any TLS setting is given.
	Endpoints []string

	// Prefix is the key prefix whose keys hold terms (DefaultPrefix if empty).
	Prefix string

	// CACert, Cert and Key name PEM files: the CA that signed the servers'
	// certificates, and this instance's client certificate and key.
	CACert, Cert, Key string

	// TLS, if set, is used as is (CACert, Cert and Key are then ignored).
	TLS *tls.Config

	// Username and Password authenticate with etcd's auth (use TLS, or a
	// loopback endpoint, so that the password does not cross a network in
	// clear).
	Username, Password string

	// InsecurePlaintext allows a plain-text connection to an endpoint that
	// is not on the loopback interface. Without it such a Config is refused.
	InsecurePlaintext bool

	// AllowMatchAll accepts keys with a term whose pattern matches every
	// flag (such as "-" or "+.*"). Without it such a value is refused.
	AllowMatchAll bool

	// StateFile, if set, is where the last state read from etcd is kept, so
	// that a restart while etcd is unreachable keeps it in force.
	StateFile string

	// DialTimeout bounds connecting and each snapshot read (2s if zero).
	DialTimeout time.Duration

	// MaxBackoff caps the wait between reconnection attempts (1s if zero),
	// which bounds how late a change made during an outage arrives once
	// etcd is back.
	MaxBackoff time.Duration

	// Logger receives connection changes and refused values
	// (slog.Default() if nil).
	Logger *slog.Logger

	// MeterProvider, if set, receives the bridge's metrics (see [Bridge]);
	// otherwise the global provider does.
	MeterProvider metric.MeterProvider

	envErr error // from RegisterFlags: a malformed environment variable
}

// ConfigFromEnv returns a Config from the DFLAG_ETCD_* environment
// variables.
func ConfigFromEnv() (Config, error) {
	var c Config
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	c.RegisterFlags(fs)
	return c, c.envErr
}

// RegisterFlags defines -etcd, -etcd-prefix, -etcd-cacert, -etcd-cert,
// -etcd-key, -etcd-user, -etcd-password-file, -etcd-state-file,
// -etcd-insecure-plaintext and -etcd-allow-match-all on fs, each with the
// matching DFLAG_ETCD_* environment variable as its default. The password
// has no flag (a command line is visible to every local user): it comes
// from DFLAG_ETCD_PASSWORD or the file -etcd-password-file names.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	env := func(name string, v flag.Value) {
		if s, ok := os.LookupEnv(name); ok {
			if err := v.Set(s); err != nil && c.envErr == nil {
				c.envErr = fmt.Errorf("fleet: %s=%q: %w", name, s, err)
			}
		}
	}
	ep := (*endpointsValue)(&c.Endpoints)
	env(EnvEndpoints, ep)
	fs.Var(ep, "etcd", "etcd endpoints for fleet flag control, host:port[,host:port] (env "+EnvEndpoints+"; empty: off)")
	str := func(p *string, name, envName, usage string) {
		v := (*stringValue)(p)
		env(envName, v)
		fs.Var(v, name, usage+" (env "+envName+")")
	}
	str(&c.Prefix, "etcd-prefix", EnvPrefix, "etcd key prefix holding dflag terms, one owner per key (default "+DefaultPrefix+")")
	str(&c.CACert, "etcd-cacert", EnvCACert, "PEM file of the CA that signed etcd's server certificates (enables TLS)")
	str(&c.Cert, "etcd-cert", EnvCert, "PEM client certificate for etcd (enables TLS)")
	str(&c.Key, "etcd-key", EnvKey, "PEM key of -etcd-cert")
	str(&c.Username, "etcd-user", EnvUser, "etcd user name; the password comes from "+EnvPassword+" or -etcd-password-file")
	if s, ok := os.LookupEnv(EnvPassword); ok {
		c.Password = s
	}
	pw := &passwordFileValue{c: c}
	env(EnvPasswordFile, pw)
	fs.Var(pw, "etcd-password-file", "file holding the etcd password (env "+EnvPasswordFile+")")
	str(&c.StateFile, "etcd-state-file", EnvStateFile, "file keeping the last fleet state across restarts during an etcd outage")
	pt := (*boolValue)(&c.InsecurePlaintext)
	env(EnvPlaintext, pt)
	fs.Var(pt, "etcd-insecure-plaintext", "allow plain text to a non-loopback etcd endpoint (env "+EnvPlaintext+")")
	fs.BoolVar(&c.AllowMatchAll, "etcd-allow-match-all", false, "accept etcd keys whose terms switch every flag")
}

type stringValue string

func (s *stringValue) String() string     { return string(*s) }
func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }

type boolValue bool

func (b *boolValue) String() string   { return strconv.FormatBool(bool(*b)) }
func (b *boolValue) IsBoolFlag() bool { return true }
func (b *boolValue) Set(v string) error {
	x, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New("want true or false")
	}
	*b = boolValue(x)
	return nil
}

type endpointsValue []string

func (e *endpointsValue) String() string { return strings.Join(*e, ",") }
func (e *endpointsValue) Set(v string) error {
	*e = nil
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*e = append(*e, s)
		}
	}
	return nil
}

type passwordFileValue struct {
	c    *Config
	name string
}

func (p *passwordFileValue) String() string {
	if p == nil {
		return ""
	}
	return p.name
}

func (p *passwordFileValue) Set(v string) error {
	p.name = v
	if v == "" {
		return nil
	}
	data, err := os.ReadFile(v)
	if err != nil {
		return err
	}
	p.c.Password = strings.TrimRight(string(data), "\r\n")
	return nil
}

// endpoint is one checked endpoint.
type endpoint struct {
	url      string // scheme://host:port as the client takes it
	host     string
	loopback bool
}

// resolved is a checked Config.
type resolved struct {
	endpoints []endpoint
	prefix    string
	tls       *tls.Config
	plain     []string // plain-text endpoints off the machine, allowed by InsecurePlaintext
}

// resolve checks c: endpoints are well formed, TLS files load, and no
// plain-text connection leaves the machine unless InsecurePlaintext.
func (c *Config) resolve() (*resolved, error) {
	if c.envErr != nil {
		return nil, c.envErr
	}
	r := &resolved{prefix: c.Prefix}
	if r.prefix == "" {
		r.prefix = DefaultPrefix
	}
	wantTLS := c.TLS != nil || c.CACert != "" || c.Cert != "" || c.Key != ""
	var plainRemote []string
	for _, s := range c.Endpoints {
		ep, err := parseEndpoint(s, wantTLS)
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(ep.url, "https://") {
			wantTLS = true
		} else if !ep.loopback {
			plainRemote = append(plainRemote, s)
		}
		r.endpoints = append(r.endpoints, ep)
	}
	if len(plainRemote) > 0 && !c.InsecurePlaintext {
		return nil, fmt.Errorf("fleet: refusing a plain-text connection to etcd at %s, which is not a loopback address: "+
			"give a CA certificate (-etcd-cacert, %s) for TLS, or -etcd-insecure-plaintext to accept it", strings.Join(plainRemote, ", "), EnvCACert)
	}
	r.plain = plainRemote
	if (c.Cert == "") != (c.Key == "") && c.TLS == nil {
		return nil, errors.New("fleet: a client certificate needs both -etcd-cert and -etcd-key")
	}
	if (c.Username == "") != (c.Password == "") {
		return nil, fmt.Errorf("fleet: etcd authentication needs both a user (-etcd-user) and a password (%s or -etcd-password-file)", EnvPassword)
	}
	if wantTLS {
		t, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		r.tls = t
	}
	return r, nil
}

func (c *Config) tlsConfig() (*tls.Config, error) {
	if c.TLS != nil {
		return c.TLS.Clone(), nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CACert != "" {
		pem, err := os.ReadFile(c.CACert)
		if err != nil {
			return nil, fmt.Errorf("fleet: reading the etcd CA certificate: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("fleet: %s holds no PEM certificate", c.CACert)
		}
		t.RootCAs = pool
	}
	if c.Cert != "" {
		cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, fmt.Errorf("fleet: loading the etcd client certificate: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// parseEndpoint accepts host:port or an http(s) URL with no path.
func parseEndpoint(s string, tlsDefault bool) (endpoint, error) {
	bad := func(why string) (endpoint, error) {
		return endpoint{}, fmt.Errorf("fleet: etcd endpoint %q: %s (want host:port or https://host:port)", s, why)
	}
	scheme := "http"
	if tlsDefault {
		scheme = "https"
	}
	hostport := s
	if i := strings.Index(s, "://"); i >= 0 {
		u, err := url.Parse(s)
		if err != nil {
			return bad(err.Error())
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return bad("scheme must be http or https")
		}
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			return bad("only scheme, host and port are allowed")
		}
		if u.Scheme == "http" && tlsDefault {
			return bad("http:// given while TLS is configured")
		}
		scheme, hostport = u.Scheme, u.Host
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return bad(err.Error())
	}
	if host == "" {
		return bad("no host")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return bad("port must be a number from 1 to 65535")
	}
	loop := host == "localhost"
	if ip := net.ParseIP(host); ip != nil {
		loop = ip.IsLoopback()
	}
	return endpoint{url: scheme + "://" + net.JoinHostPort(host, port), host: host, loopback: loop}, nil
}
