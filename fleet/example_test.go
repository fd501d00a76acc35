package fleet_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/fleet"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

var paymentBreaker = dflag.Default("breaker", "example_payment", "calls the payment provider")

// The fleet trips a breaker on every instance by writing one key, and
// clears it by deleting the key. (The example runs its own etcd; a real
// instance is given -etcd host:port.)
func Example() {
	endpoint, stopEtcd := exampleEtcd()
	defer stopEtcd()
	ctx := context.Background()

	b, err := fleet.Start(ctx, fleet.Config{
		Endpoints: []string{endpoint},
		Prefix:    "/dflag/example/",
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if err := b.WaitSynced(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("payment breaker on:", paymentBreaker.On())

	// An operator, anywhere: etcdctl put /dflag/example/breakers -breaker:example_payment
	admin, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, Logger: zap.NewNop()})
	if err != nil {
		log.Fatal(err)
	}
	defer admin.Close()
	admin.Put(ctx, "/dflag/example/breakers", "-breaker:example_payment")
	waitFor(func() bool { return !paymentBreaker.On() })
	fmt.Println("payment breaker on:", paymentBreaker.On())
	fmt.Println("held by:", paymentBreaker.State().Owners[0].Name)

	admin.Delete(ctx, "/dflag/example/breakers")
	waitFor(paymentBreaker.On)
	fmt.Println("payment breaker on:", paymentBreaker.On())
	// Output:
	// payment breaker on: true
	// payment breaker on: false
	// held by: etcd:/dflag/example/breakers
	// payment breaker on: true
}

// A program takes -etcd, -etcd-prefix and the TLS and authentication flags
// (or DFLAG_ETCD_* variables), and serves the bridge's status beside its
// other operator endpoints. Without -etcd, Start returns a nil bridge whose
// methods do nothing.
func Example_program() {
	var fleetCfg fleet.Config
	fleetCfg.RegisterFlags(flag.CommandLine)
	flag.Parse()
	if err := dflag.Init(); err != nil {
		log.Fatal(err)
	}
	bridge, err := fleet.Start(context.Background(), fleetCfg)
	if err != nil {
		log.Fatal(err) // a bad TLS file, or plain text to another machine
	}
	defer bridge.Close()
	http.Handle("/debug/fleet", bridge) // read-only status JSON: guard it like the console
}

// exampleEtcd starts an etcd embedded in the example, on a loopback port.
func exampleEtcd() (endpoint string, stop func()) {
	dir, err := os.MkdirTemp("", "fleet-example-")
	if err != nil {
		log.Fatal(err)
	}
	port := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	cu := url.URL{Scheme: "http", Host: port()}
	pu := url.URL{Scheme: "http", Host: port()}
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.TickMs, cfg.ElectionMs = 10, 100
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatal(err)
	}
	<-e.Server.ReadyNotify()
	return cu.Host, func() { e.Close(); os.RemoveAll(dir) }
}

func waitFor(cond func() bool) {
	for deadline := time.Now().Add(10 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
}
