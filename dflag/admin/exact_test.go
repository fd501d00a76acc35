package admin_test

import (
	"encoding/json"
	"strings"
	"testing"

	"bounded.dev/dflag"
	"bounded.dev/dflag/admin"
)

var (
	exactRecs   = dflag.Feature("admin_exact", "recs", "the recommendations breaker")
	exactRecsV2 = dflag.Feature("admin_exact", "recs_v2", "a different breaker with a longer name")
)

// TestExactRecord switches exactly one record by its full name, where the
// pattern admin_exact:recs would also match admin_exact:recs_v2.
func TestExactRecord(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet)
	resp := post(t, h, form("op", "activate", "name", exactRecs.Name()))
	if resp.Matched != 1 || resp.Results[0].Pattern != exactRecs.Name() || !exactRecs.On() || exactRecsV2.On() {
		t.Errorf("exact activate: %+v, recs %v, recs_v2 %v", resp, exactRecs.On(), exactRecsV2.On())
	}
	post(t, h, form("op", "deactivate", "name", exactRecs.Name()))

	before := snapshot(t)
	for _, c := range []struct {
		body string
		code int
		msg  string
	}{
		{form("op", "activate", "name", "admin_exact:recs"), 404, "no flag record named"},
		{form("op", "activate", "name", exactRecs.Name()+"x"), 404, "no flag record named"},
		{form("op", "activate", "name", ""), 400, "full name"},
		{form("op", "activate", "name", exactRecs.Name(), "pattern", "x"), 400, "not both"},
		{form("spec", "+x", "name", exactRecs.Name()), 400, "not several"},
		{form("op", "activate", "pattern", "x", "dry_run", "maybe"), 400, "dry_run"},
	} {
		w := serve(h, request("POST", "/flags", c.body))
		if w.Code != c.code || !strings.Contains(w.Body.String(), c.msg) {
			t.Errorf("%s: %d %s, want %d %q", c.body, w.Code, w.Body, c.code, c.msg)
		}
	}
	sameState(t, before)
}

// TestDryRun counts what a change would match and changes nothing, not
// even the history.
func TestDryRun(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	h := admin.Handler(quiet)
	before := snapshot(t)
	w := serve(h, request("POST", "/flags", form("op", "activate", "pattern", "admin_exact:recs", "dry_run", "1")))
	var resp admin.Response
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if !resp.DryRun || resp.Matched != 2 || len(resp.Results) != 1 || resp.Results[0].Matched != 2 {
		t.Errorf("dry run %+v", resp)
	}
	w = serve(h, request("POST", "/flags", form("spec", "+admin_exact: -nomatch:", "dry_run", "1")))
	json.Unmarshal(w.Body.Bytes(), &resp)
	if resp.Matched != 2 || len(resp.Warnings) != 1 {
		t.Errorf("dry spec %+v", resp)
	}
	sameState(t, before)
	if w := serve(h, request("GET", "/history", "")); strings.TrimSpace(w.Body.String()) != `{"changes":[]}` {
		t.Errorf("a dry run entered the history: %s", w.Body)
	}
}
