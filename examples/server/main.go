// Command server is a small service with opt-in request tracing, metrics
// and an operator console, running on embedded defaults: no collector, no
// configuration.
//
//	go run ./examples/server [-addr 127.0.0.1:8080] [-token secret] [-dflag terms]
//	                         [-etcd host:port[,host:port] [-etcd-prefix /dflag/] ...]
//
// It prints its address and the curl lines to try: one request that opts
// into tracing with ?tracing=1, the page of recent traces, /debug/traces
// (a list of traces in a browser; ?format=text for curl, ?format=json for
// tools), and the metrics, /metrics (Prometheus text). The dynamic flags
// console is at /debug/dflag/. A request that does not opt in runs with
// every request_tracing flag off.
//
// # A circuit breaker
//
// Item responses carry recommendations from a (simulated) recommendation
// service, behind a Default flag, breaker:recommendations. An operator who
// sees that service fail trips the breaker from the console (deactivate
// breaker:recommendations@) or at start-up (-dflag '-breaker:recommendations@'):
// items are then served without recommendations and with the header
// "X-Degraded: recommendations", until the breaker is activated again.
//
// # Fleet control
//
// With -etcd, the server follows the etcd keys under -etcd-prefix
// (default /dflag/) through bounded.dev/fleet: each key holds terms in the
// startup syntax and is in force as an owner of its own, etcd:<key>, which
// the console lists beside the operator's and the traced requests' holds.
// Tripping the breaker on every instance at once:
//
//	etcdctl put /dflag/breakers -- '-breaker:recommendations'
//
// /debug/fleet serves the bridge's status as JSON (connected, the age of
// the last sync, each key's terms and any value it refused); the console
// shows the connection, the age of the last sync, the last error and the
// number of keys in its status panel (and /debug/dflag/status serves them
// as "fleet"); and /metrics has its gauges (dflag_fleet_connected,
// dflag_fleet_sync_age_seconds, dflag_fleet_keys) and the
// dflag_fleet_refused_total counter. The TLS and authentication flags
// (-etcd-cacert, -etcd-cert, -etcd-key, -etcd-user, -etcd-password-file,
// ...) and their DFLAG_ETCD_* variables are the fleet package's; see
// docs/fleet.md. Without -etcd (and DFLAG_ETCD_ENDPOINTS) the server needs
// no external service.
//
// # Who may do what
//
// The same rule guards opt-in tracing, /debug/traces, /metrics,
// /debug/fleet and the console: by default local clients only (a loopback address, a loopback
// or localhost Host header, no proxy header), and no browser request from
// another site; -token also admits any client that sends "Authorization:
// Bearer <token>" (behind a reverse proxy, use a token: the local rule
// cannot see through a proxy that adds no header).
//
// # Timeouts
//
// The server has a production server's limits: 5 s to read a request's
// headers, 15 s to read the whole request, 30 s to write the response, 2
// min for an idle keep-alive connection, 64 KiB of headers. A traced
// request holds its request_tracing activation and its opt-in slot exactly
// as long as its handler runs, so these timeouts are also what frees the
// slots from clients that send or read slowly.
//
// # OpenTelemetry
//
// The resource honours OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
// (service.name is bounded-example otherwise) and carries a fresh
// service.instance.id. When the standard OTEL_* environment variables ask
// for it (OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318, or
// OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER), traces and metrics are
// also exported over OTLP; by default nothing leaves the process.
// OpenTelemetry's internal errors go to the log, and exporters that fail
// to flush at shutdown are reported (the exit status is then 1). SIGINT or
// SIGTERM shuts the server down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/dflag/admin"
	"bounded.dev/fleet"
	"bounded.dev/middleware"
	"bounded.dev/tracing"
	"bounded.dev/tracing/tracestore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) { // -h: the usage is printed
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run starts the service and serves until ctx is done, then shuts down
// gracefully. It prints the address and the lines to try to stdout, logs to
// stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address`; loopback by default")
	token := fs.String("token", "", "also let clients that send \"Authorization: Bearer `token`\" opt in, see traces and metrics, and use the console")
	verbose := fs.Bool("v", false, "log at debug level")
	fs.Var(new(dflag.Terms), "dflag", "dflag startup `terms` (+re, -re, !re, ?re), applied after DFLAG")
	var fleetCfg fleet.Config
	fleetCfg.RegisterFlags(fs) // -etcd, -etcd-prefix, TLS and authentication; DFLAG_ETCD_* as defaults
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	// Records of traced requests become span events, debug ones included.
	logger := slog.New(tracing.NewLogHandler(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))

	// Telemetry first, so that the metrics count Init's patching too.
	tel, err := newTelemetry(ctx, logger)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if serr := tel.shutdown(sctx); serr != nil { // flushes the OTLP batches
			logger.Error("telemetry not flushed", "err", serr)
			err = errors.Join(err, serr)
		}
	}()

	n, cerr := registerCallSites()
	if err := dflag.Init(); err != nil { // Opt flags and call sites switch off
		return err
	}
	if cerr != nil {
		logger.Info("request_tracing call sites not patched; their calls keep running", "err", cerr)
	} else {
		logger.Info("request_tracing call sites registered, patched out until a request is traced", "sites", n)
	}

	// Fleet control: with -etcd, every key under the prefix is an owned
	// hold "etcd:<key>". The bridge outlives the signal (it is closed
	// after the server has drained, releasing its holds) and reports to
	// the server's meter provider.
	fleetCfg.Logger = logger
	fleetCfg.MeterProvider = tel.meters
	bridge, err := fleet.Start(context.WithoutCancel(ctx), fleetCfg) // nil without -etcd
	if err != nil {
		return err
	}
	if bridge != nil {
		defer func() {
			if cerr := bridge.Close(); cerr != nil {
				logger.Error("fleet bridge not closed cleanly", "err", cerr)
				err = errors.Join(err, cerr)
			}
		}()
		logger.Info("following etcd for fleet terms", "endpoints", fleetCfg.Endpoints, "prefix", bridge.Status().Prefix)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + displayAddr(ln.Addr())
	srv := newServer(newHandler(logger, tel, base, access{token: *token}, bridge), logger, productionTimeouts)

	fmt.Fprintf(stdout, "listening on %s (traces: %s/debug/traces, flags: %s/debug/dflag/)\n", base, base, base)
	fmt.Fprintf(stdout, "try:\n")
	fmt.Fprintf(stdout, "  curl -i '%s/items/42?tracing=1'\n", base)
	fmt.Fprintf(stdout, "  curl '%s/debug/traces?format=text'\n", base)
	fmt.Fprintf(stdout, "  curl '%s/metrics'\n", base)
	if bridge != nil {
		fmt.Fprintf(stdout, "  curl '%s/debug/fleet'\n", base)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// timeouts are an http.Server's limits on slow clients.
type timeouts struct {
	readHeader, read, write, idle time.Duration
	maxHeaderBytes                int
}

// productionTimeouts are the server's limits (see the package
// documentation): a traced request holds its activation as long as its
// handler runs, and these bound how long a slow client can make it run.
var productionTimeouts = timeouts{
	readHeader:     5 * time.Second,
	read:           15 * time.Second,
	write:          30 * time.Second,
	idle:           2 * time.Minute,
	maxHeaderBytes: 64 << 10,
}

// newServer returns the server for h with the limits t.
func newServer(h http.Handler, logger *slog.Logger, t timeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.readHeader,
		ReadTimeout:       t.read,
		WriteTimeout:      t.write,
		IdleTimeout:       t.idle,
		MaxHeaderBytes:    t.maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// access is who may opt requests into tracing, read traces and metrics
// and use the console, said once and applied to every surface with that
// surface's options of the same names: local clients, and with a token,
// clients that send it.
type access struct{ token string }

func (a access) tracing() []middleware.Option {
	if a.token == "" {
		return nil // the default: middleware.WithLocal()
	}
	return []middleware.Option{middleware.WithLocal(), middleware.WithBearerToken(a.token)}
}

func (a access) console() []admin.Option {
	if a.token == "" {
		return nil // the default: admin.WithLocal()
	}
	return []admin.Option{admin.WithLocal(), admin.WithBearerToken(a.token)}
}

func (a access) traces() []tracestore.HandlerOption {
	if a.token == "" {
		return nil // the default: tracestore.WithLocal()
	}
	return []tracestore.HandlerOption{tracestore.WithLocal(), tracestore.WithBearerToken(a.token)}
}

// allow is the same rule as a function, for /metrics:
// no browser request from another site, then a local client or the token.
func (a access) allow() func(*http.Request) bool {
	var bearer func(*http.Request) bool
	if a.token != "" {
		bearer = middleware.BearerToken(a.token)
	}
	return func(r *http.Request) bool {
		if crossSite(r) {
			return false
		}
		return middleware.Loopback(r) || bearer != nil && bearer(r)
	}
}

// crossSite reports whether a browser says r comes from another site: a
// Sec-Fetch-Site other than same-origin or none, or an Origin that is not
// this server's.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return true
	}
	origin := r.Header.Get("Origin")
	return origin != "" && origin != "http://"+r.Host && origin != "https://"+r.Host
}

// newHandler assembles the service: its routes and the debug endpoints
// behind the tracing middleware. base is the service's own URL, where the
// items handler finds the pricing endpoint. With a fleet bridge, its
// status is served at /debug/fleet, under the console's rule, and shown in
// the console's status panel.
func newHandler(logger *slog.Logger, tel *telemetry, base string, acc access, bridge *fleet.Bridge) http.Handler {
	mux := http.NewServeMux()
	newService(logger, base).routes(mux)
	mux.Handle("GET /debug/traces", tel.store.Handler(append([]tracestore.HandlerOption{
		tracestore.WithLogger(logger)}, acc.traces()...)...))
	consoleOpts := append([]admin.Option{admin.WithPrefix("/debug/dflag/"), admin.WithLogger(logger)}, acc.console()...)
	if bridge != nil {
		// The console's status panel and /debug/dflag/status show the
		// bridge's connection and staleness.
		consoleOpts = append(consoleOpts, admin.WithStatus("fleet", fleetStatus(bridge)))
	}
	mux.Handle("/debug/dflag/", admin.Handler(consoleOpts...))
	mux.Handle("GET /metrics", guarded(acc.allow(), tel.metrics))
	if bridge != nil {
		mux.Handle("GET /debug/fleet", guarded(acc.allow(), bridge))
	}
	return middleware.Tracing(mux, append([]middleware.Option{
		// The pricing endpoint joins the trace of a traced caller.
		middleware.WithSampledTraceparent(),
		middleware.WithLogger(logger),
	}, acc.tracing()...)...)
}

// guarded serves h to the requests allow admits and 403 to the others.
func guarded(allow func(*http.Request) bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allow(r) {
			http.Error(w, "forbidden: local clients only unless the server was started with -token", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// displayAddr is the address to print and to call: an unspecified listen
// address (":8080", "0.0.0.0:8080") is reached through loopback.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

// registerCallSites registers the service's request_tracing call sites:
// every call to auditTraced becomes its own flag record, named after the
// call's source line, and on linux/amd64 the patch engine turns the CALL
// into a no-op (test eax, imm32) while no request is traced. Elsewhere, or
// when the engine cannot patch, it returns an error and the calls keep
// running, which auditTraced's own tracing.Opted check keeps correct. It
// runs before dflag.Init, which switches the sites off.
func registerCallSites() (int, error) {
	return tracing.Kind.OptCalls("audit", auditTraced, "audit events of traced requests (a patched call site)")
}
