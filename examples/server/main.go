// Command server is a small service with opt-in request tracing, running on
// embedded defaults: no collector, no configuration.
//
//	go run ./examples/server [-addr 127.0.0.1:8080] [-token secret] [-dflag terms]
//
// It prints its address and two curl lines to try: one request that opts
// into tracing with ?tracing=1, and the page of recent traces,
// /debug/traces (a waterfall per trace in a browser; ?format=text for curl,
// ?format=json for tools). The dynamic flags console is at /debug/dflag/.
// A request that does not opt in runs with every request_tracing flag off.
//
// By default only loopback clients may opt in, see traces or use the
// console; -token also allows any client that sends "Authorization: Bearer
// <token>". When the standard OTEL_* environment variables ask for it (for
// example OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318), traces are
// also exported over OTLP. SIGINT or SIGTERM shuts the server down
// gracefully.
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
	"bounded.dev/middleware"
	"bounded.dev/tracing"
	"bounded.dev/tracing/tracestore"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run starts the service and serves until ctx is done, then shuts down
// gracefully. It prints the address and the lines to try to stdout, logs to
// stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address`; loopback by default")
	token := fs.String("token", "", "also let clients that send \"Authorization: Bearer `token`\" opt in, see traces and use the console")
	verbose := fs.Bool("v", false, "log at debug level")
	fs.Var(new(dflag.Terms), "dflag", "dflag startup `terms` (+re, -re, !re, ?re), applied after DFLAG")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	n, cerr := registerCallSites()
	if err := dflag.Init(); err != nil { // Opt flags and call sites switch off
		return err
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	// Records of traced requests become span events, debug ones included.
	logger := slog.New(tracing.NewLogHandler(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))
	if cerr != nil {
		logger.Info("request_tracing call sites not patched; their calls keep running", "err", cerr)
	} else {
		logger.Info("request_tracing call sites registered, patched out until a request is traced", "sites", n)
	}

	// The embedded exporter: recent traces in memory, served at
	// /debug/traces, and OTLP when the environment asks for it.
	store := tracestore.New()
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", "bounded-example")))
	if err != nil {
		res = resource.Default()
	}
	tp, err := tracestore.NewTracerProvider(ctx, store, sdktrace.WithResource(res))
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tp.Shutdown(sctx) // flushes the OTLP batches
	}()
	otel.SetTracerProvider(tp)
	if tracestore.OTLPRequested() {
		logger.Info("exporting traces over OTLP as the OTEL_* environment says")
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + displayAddr(ln.Addr())
	srv := &http.Server{
		Handler:           newHandler(logger, store, base, *token),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	fmt.Fprintf(stdout, "listening on %s (traces: %s/debug/traces, flags: %s/debug/dflag/)\n", base, base, base)
	fmt.Fprintf(stdout, "try:\n")
	fmt.Fprintf(stdout, "  curl -i '%s/items/42?tracing=1'\n", base)
	fmt.Fprintf(stdout, "  curl '%s/debug/traces?format=text'\n", base)

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

// newHandler assembles the service: its routes and the debug endpoints
// behind the tracing middleware. base is the service's own URL, where the
// items handler finds the pricing endpoint.
func newHandler(logger *slog.Logger, store *tracestore.Store, base, token string) http.Handler {
	mux := http.NewServeMux()
	newService(logger, base).routes(mux)

	traceOpts := []middleware.Option{
		// The pricing endpoint joins the trace of a traced caller.
		middleware.WithSampledTraceparent(),
		middleware.WithLogger(logger),
	}
	storeOpts := []tracestore.HandlerOption{}
	adminOpts := []admin.Option{admin.WithPrefix("/debug/dflag/"), admin.WithLogger(logger)}
	if token != "" {
		allow := middleware.BearerToken(token)
		traceOpts = append(traceOpts, middleware.WithAuthorize(allow), middleware.WithAuthorize(middleware.Loopback))
		storeOpts = append(storeOpts, tracestore.WithAuthorize(func(r *http.Request) bool {
			return allow(r) || middleware.Loopback(r)
		}))
		adminOpts = append(adminOpts, admin.WithBearerToken(token))
	}
	mux.Handle("GET /debug/traces", store.Handler(storeOpts...))
	mux.Handle("/debug/dflag/", admin.Handler(adminOpts...))
	return middleware.Tracing(mux, traceOpts...)
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
