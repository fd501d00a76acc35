package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestFleetFlags: -etcd and the fleet package's other flags reach the
// bridge: a plain-text endpoint on another machine is refused at start,
// as fleet.Config says, and a malformed prefix too; without -etcd there
// is no /debug/fleet and nothing is dialled.
func TestFleetFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-etcd", "203.0.113.7:2379"}, "plain"},
		{[]string{"-etcd", "127.0.0.1:2379", "-etcd-cacert", "/nonexistent/ca.pem"}, "/nonexistent/ca.pem"},
	} {
		err := run(context.Background(), append([]string{"-addr", "127.0.0.1:0"}, c.args...), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run %q: %v, want an error about %q", c.args, err, c.want)
		}
	}
	if err := run(context.Background(), []string{"-etcd-bogus", "x"}, io.Discard, io.Discard); err == nil {
		t.Error("an unknown -etcd- flag was accepted")
	}
	// The DFLAG_ETCD_* variables are the flags' defaults.
	t.Setenv("DFLAG_ETCD_ENDPOINTS", "203.0.113.8:2379")
	if err := run(context.Background(), []string{"-addr", "127.0.0.1:0"}, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "203.0.113.8:2379") {
		t.Errorf("run with DFLAG_ETCD_ENDPOINTS=203.0.113.8:2379: %v, want the plain-text refusal", err)
	}
	os.Unsetenv("DFLAG_ETCD_ENDPOINTS") // restored (unset) by t.Setenv's cleanup too

	srv := start(t)
	if resp, _ := get(t, srv.base+"/debug/fleet"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/debug/fleet without -etcd: %s, want 404", resp.Status)
	}
	if strings.Contains(srv.stderr.String(), "etcd") {
		t.Errorf("the log mentions etcd without -etcd:\n%s", srv.stderr.String())
	}
}
