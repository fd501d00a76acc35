package fleet

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/fleet/etcdtest"
)

// The probe is this test binary re-executed as a fleet instance: real
// dflag flags, a real bridge, started the way a program wires it. It prints
// "state <unix-ns> <flags> connected=<bool>" whenever that changes, and
// exits cleanly when its standard input closes.
const probeEnv = "BOUNDED_FLEET_PROBE"

var (
	probeBreaker = dflag.Default("breaker", "probe_pay", "payment breaker (probe)")
	probeTracing = dflag.Opt("request_tracing", "probe_db", "SQL tracing (probe)")
	probeAdvice  = dflag.Feature("advice", "probe_cache", "cache advice (probe)")
)

func probeState() string {
	b := func(f *dflag.Flag) string {
		if f.On() {
			return "1"
		}
		return "0"
	}
	return "breaker=" + b(probeBreaker) + " tracing=" + b(probeTracing) + " advice=" + b(probeAdvice)
}

func probeMain() {
	os.Unsetenv("DFLAG") // the probe's defaults must not depend on the ambient DFLAG
	os.Unsetenv("DFLAG_FILE")
	// The example server's wiring: flags, then Start, then Close.
	var cfg Config
	cfg.RegisterFlags(flag.CommandLine)
	flag.Parse()
	if err := dflag.Init(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	b, err := Start(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	last := ""
	report := func() {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		s := probeState() + " connected=" + strconv.FormatBool(b.Connected())
		if s != last {
			last = s
			fmt.Fprintf(os.Stdout, "state %d %s\n", now.UnixNano(), s)
		}
	}
	stop := dflag.Watch(func(dflag.Event) { report() })
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(done) }()
	tick := time.NewTicker(10 * time.Millisecond)
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-tick.C:
			report()
		}
	}
	stop()
	if err := b.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// probe is a running probe process.
type probe struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu      sync.Mutex
	changed *sync.Cond
	state   string    // flags and connected, as last printed
	at      time.Time // when the probe saw it
	exited  bool
	stderr  syncLog // the probe's log, shown if the test fails
}

func startProbe(t *testing.T, endpoint, prefix string) *probe {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-etcd", endpoint, "-etcd-prefix", prefix)
	cmd.Env = append(os.Environ(), probeEnv+"=1")
	p := &probe{cmd: cmd}
	cmd.Stderr = &p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.stdin = stdin
	p.changed = sync.NewCond(&p.mu)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.SplitN(sc.Text(), " ", 3)
			if len(f) != 3 || f[0] != "state" {
				continue
			}
			ns, _ := strconv.ParseInt(f[1], 10, 64)
			p.mu.Lock()
			p.state, p.at = f[2], time.Unix(0, ns)
			p.changed.Broadcast()
			p.mu.Unlock()
		}
		p.mu.Lock()
		p.exited = true
		p.changed.Broadcast()
		p.mu.Unlock()
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("probe %d log:\n%s", cmd.Process.Pid, p.stderr.String())
		}
	})
	return p
}

// stop closes the probe's input (it closes its bridge and exits).
func (p *probe) stop(t *testing.T) {
	if p.stdin == nil {
		return
	}
	p.stdin.Close()
	p.stdin = nil
	errc := make(chan error, 1)
	go func() { errc <- p.cmd.Wait() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("probe exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		t.Error("probe did not exit in 10s")
	}
}

// wait waits until the probe's state contains every part of want and
// returns when the probe saw it.
func (p *probe) wait(t *testing.T, want string) time.Time {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	timer := time.AfterFunc(10*time.Second, func() {
		p.mu.Lock()
		p.changed.Broadcast()
		p.mu.Unlock()
	})
	defer timer.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for !hasAll(p.state, want) {
		if p.exited || time.Now().After(deadline) {
			t.Fatalf("probe %d: state %q, want %q", p.cmd.Process.Pid, p.state, want)
		}
		p.changed.Wait()
	}
	return p.at
}

func hasAll(state, want string) bool {
	have := strings.Fields(state)
	for _, w := range strings.Fields(want) {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func percentile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func TestThreeProcessesOneEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes and restarts etcd twice")
	}
	te := newEtcd(t, nil, false)
	proxy := etcdtest.NewProxy(t, te.Endpoint())
	prefix := "/dflag/procs/"
	te.Put(prefix+"ops", "-breaker:probe_pay") // tripped before the instances start
	var ps []*probe
	for range 3 {
		ps = append(ps, startProbe(t, proxy.Addr(), prefix))
	}
	for _, p := range ps {
		p.wait(t, "breaker=0 tracing=0 advice=0 connected=true")
	}

	// Propagation latency: etcd's put to each instance's flag flip.
	var lat []time.Duration
	for i := range 20 {
		want, value := "advice=1", "+advice:probe_cache"
		if i%2 == 1 {
			want, value = "advice=0", ""
		}
		t0 := time.Now()
		te.Put(prefix+"advice", value)
		for _, p := range ps {
			lat = append(lat, p.wait(t, want).Sub(t0))
		}
	}
	t.Logf("propagation over %d changes x 3 processes: p50 %v, p90 %v, max %v",
		len(lat)/3, percentile(lat, .5), percentile(lat, .9), percentile(lat, 1))

	// etcd stopped for several seconds: the instances keep the state and
	// say they are disconnected; etcd restarts and a key changes.
	te.Put(prefix+"advice", "+advice:probe_cache")
	for _, p := range ps {
		p.wait(t, "advice=1")
	}
	proxy.Cut()
	te.Stop()
	for _, p := range ps {
		p.wait(t, "breaker=0 advice=1 connected=false")
	}
	time.Sleep(3 * time.Second)
	for _, p := range ps {
		p.wait(t, "breaker=0 advice=1 connected=false") // still
	}
	te.Restart()
	te.Put(prefix+"ops", "-breaker:probe_pay -request_tracing:probe_db")
	te.Delete(prefix + "advice")
	back := time.Now()
	proxy.Restore()
	var catchUp []time.Duration
	for _, p := range ps {
		catchUp = append(catchUp, p.wait(t, "breaker=0 advice=0 connected=true").Sub(back))
	}
	t.Logf("after a 3s+ outage, changes reached the 3 processes %v after etcd's return", catchUp)
	if m := percentile(catchUp, 1); m > 2500*time.Millisecond {
		t.Errorf("catch-up after the outage took %v, want within ~2s", m)
	}

	// etcd restarted empty: every hold is released, flags go back to their
	// defaults.
	proxy.Cut()
	te.Stop()
	te.Wipe()
	te.Restart()
	proxy.Restore()
	for _, p := range ps {
		p.wait(t, "breaker=1 tracing=0 advice=0 connected=true")
	}
	for _, p := range ps {
		p.stop(t)
	}
}
