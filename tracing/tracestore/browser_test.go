package tracestore_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"bounded.dev/tracing/tracestore"
)

const chromiumPath = "/usr/bin/chromium"

// probe is a test-only page that loads /debug/traces in a same-origin
// iframe and, once it has loaded, measures the waterfall as Chromium laid
// it out, writing the result into its own DOM for --dump-dom to print.
const probe = `<!doctype html><html><body>
<iframe id="f" src="/debug/traces" style="width:1200px;height:800px"></iframe>
<pre id="out">pending</pre>
<script>
document.getElementById("f").addEventListener("load", () => {
	const d = document.getElementById("f").contentDocument;
	const rows = [...d.querySelectorAll("table.wf > tbody > tr, table.wf > tr")];
	const bar = (r) => r.querySelector(".bar").getBoundingClientRect();
	const track = (r) => r.querySelector(".track").getBoundingClientRect();
	const res = {
		traces: d.querySelectorAll("section.trace").length,
		rows: rows.map((r) => ({
			name: r.querySelector("summary").textContent.trim(),
			left: bar(r).left - track(r).left, width: bar(r).width, trackWidth: track(r).width,
			err: r.querySelector(".bar").classList.contains("err"),
		})),
		overflow: d.documentElement.scrollWidth > d.documentElement.clientWidth,
	};
	const det = d.querySelector("details");
	const closed = det.getBoundingClientRect().height;
	det.open = true;
	res.opens = det.getBoundingClientRect().height > closed;
	document.getElementById("out").textContent = JSON.stringify(res);
});
</script></body></html>`

// TestPageInChromium renders the page in headless Chromium and checks the
// waterfall's geometry: one row per span, every bar inside its track,
// children inside their parent, the error bar marked, nothing overflowing,
// and a span's details opening.
func TestPageInChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no %s (run .ci/install-chromium): %v", chromiumPath, err)
	}
	s := tracestore.New()
	record(t, newProvider(s), "GET /items/{id}")
	mux := http.NewServeMux()
	mux.Handle("/debug/traces", s.Handler())
	mux.HandleFunc("/probe", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(probe)) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromiumPath, "--headless", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--disable-extensions", "--user-data-dir="+t.TempDir(),
		"--window-size=1300,900", "--virtual-time-budget=5000", "--dump-dom", srv.URL+"/probe")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	m := regexp.MustCompile(`(?s)<pre id="out">(.*?)</pre>`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no result in the dumped DOM:\n%.2000s", out)
	}
	var res struct {
		Traces int
		Rows   []struct {
			Name                    string
			Left, Width, TrackWidth float64
			Err                     bool
		}
		Overflow, Opens bool
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &res); err != nil {
		t.Fatalf("%v: %s", err, m[1])
	}
	if res.Traces != 1 || len(res.Rows) != 4 {
		t.Fatalf("%d traces, %d rows: %+v", res.Traces, len(res.Rows), res)
	}
	t.Logf("layout: %+v", res)
	root := res.Rows[0]
	if root.TrackWidth < 300 || root.Left > 1 || root.Width < root.TrackWidth-2 {
		t.Errorf("root bar %+v does not span its track", root)
	}
	for _, r := range res.Rows {
		if r.Width < 1 || r.Left < -0.5 || r.Left+r.Width > r.TrackWidth+0.5 {
			t.Errorf("bar %+v outside its track", r)
		}
	}
	// db.rows is inside db.query, which is inside the root.
	if q, g := res.Rows[1], res.Rows[2]; g.Left < q.Left-0.5 || g.Left+g.Width > q.Left+q.Width+0.5 {
		t.Errorf("child %+v outside its parent %+v", g, q)
	}
	if !res.Rows[3].Err || res.Rows[0].Err {
		t.Errorf("error marking: %+v", res.Rows)
	}
	if res.Overflow {
		t.Error("the page overflows horizontally at 1200px")
	}
	if !res.Opens {
		t.Error("a span's details did not open")
	}
}
