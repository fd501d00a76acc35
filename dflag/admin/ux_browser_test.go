package admin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/dflag/admin"
	"bounded.dev/internal/browsertest"
)

var (
	uxOne   = dflag.Feature("admin_ux", "catalogue_cache", "caches the catalogue pages for the listing endpoints, which are slow to build")
	uxTwo   = dflag.Feature("admin_ux", "catalogue_cache_v2", "the same cache, second version")
	uxLong  = dflag.Opt("admin_ux_with_a_rather_long_kind", "recommendations_breaker_for_the_homepage", "a long name the layout must not break")
	uxOther = dflag.Feature("admin_ux_other", "lonely", "the only flag of its kind")
)

// TestOperatorExperienceInChromium drives the console as an operator:
// grouping by kind, confirmation of actions that match more than one flag
// or every flag, exact switching of one record, a visible notice for a
// term that matches nothing, the history, the legend, live refresh, and
// the status panel (WithStatus): a fleet bridge's connection and sync age
// as they change, and a status function that panics.
func TestOperatorExperienceInChromium(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	browsertest.Need(t)
	var connected atomic.Bool
	var age atomic.Int64
	srv := httptest.NewServer(admin.Handler(quiet,
		admin.WithStatus("fleet", func() any {
			return struct {
				Connected bool    `json:"connected"`
				Age       float64 `json:"age_seconds"`
				LastError string  `json:"last_error"`
				Keys      int     `json:"keys"`
			}{connected.Load(), float64(age.Add(1)), map[bool]string{false: "etcd unreachable"}[connected.Load()], 2}
		}),
		admin.WithStatus("probe", func() any { panic("probe crashed") }),
		admin.WithStatus("markup", func() any { return map[string]string{"note": `<img src=x id=injected>`} })))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	b := browsertest.Start(t, ctx)
	defer b.Close()
	defer dflag.Deactivate("admin_ux")

	b.Call("Page.navigate", map[string]any{"url": srv.URL + "/#admin_ux"}, nil)
	b.WaitFor(`document.querySelectorAll("#flags tr[data-name]").length === 4 &&
		[...document.querySelectorAll("#flags tr.kind")].map((r) => r.dataset.kind).join() === "admin_ux,admin_ux_other,admin_ux_with_a_rather_long_kind"`)
	if got := b.Eval(`document.querySelector('#flags tr.kind[data-kind="admin_ux"]').textContent`); got != "admin_ux  (2 flags, 0 on)" {
		t.Errorf("kind header %q", got)
	}
	if got, _ := b.Eval(`document.querySelector("dl.legend").textContent`).(string); !strings.Contains(got, "activations are ignored") || !strings.Contains(got, "activate adds one") {
		t.Errorf("legend %q", got)
	}

	// A bulk action over 4 flags asks first, and saying no changes nothing.
	before := snapshot(t)
	b.Click(`button.bulk[data-op="activate"]`)
	b.WaitFor(`!document.querySelector("#confirm").hidden &&
		document.querySelector("#confirm-text").textContent === "This will activate 4 flags matching admin_ux. Apply?"`)
	b.Click(`#confirm-no`)
	b.WaitFor(`document.querySelector("#confirm").hidden && document.querySelector("#status").textContent === "cancelled"`)
	sameState(t, before)

	// Narrowed to two, it still asks; confirmed, both switch.
	b.TypeInto("#filter", "admin_ux:catalogue_cache")
	b.WaitFor(`document.querySelectorAll("#flags tr[data-name]").length === 2`)
	b.Click(`button.bulk[data-op="activate"]`)
	b.WaitFor(`document.querySelector("#confirm-text").textContent.includes("activate 2 flags matching admin_ux:catalogue_cache")`)
	b.Click(`#confirm-yes`)
	b.WaitFor(`document.querySelector("#status").textContent === "activate admin_ux:catalogue_cache: 2 matched"`)
	if !uxOne.On() || !uxTwo.On() {
		t.Errorf("confirmed bulk action: %v %v", uxOne.State(), uxTwo.State())
	}
	// The table shows who holds them, and with which term.
	b.WaitFor(fmt.Sprintf(`document.querySelector('#flags tr[data-name=%q] td.owners').textContent === "console:127.0.0.1+admin_ux:catalogue_cache"`, uxTwo.Name()))

	// A row's button switches exactly its record, without asking.
	b.Click(fmt.Sprintf(`#flags tr[data-name=%q] button.op-deactivate`, uxOne.Name()))
	b.WaitFor(fmt.Sprintf(`document.querySelector("#status").textContent === "deactivate %s: 1 matched"`, uxOne.Name()))
	if uxOne.On() || !uxTwo.On() {
		t.Errorf("exact deactivate touched another record: %v %v", uxOne.State(), uxTwo.State())
	}

	// Every flag: the confirmation says ALL and how many.
	b.TypeInto("#filter", "")
	b.Call("Input.dispatchKeyEvent", map[string]any{"type": "keyDown", "key": "Backspace", "code": "Backspace", "windowsVirtualKeyCode": 8}, nil)
	b.Eval(`document.querySelector("#filter").value = ""; document.querySelector("#filter").dispatchEvent(new Event("input"))`)
	all, _ := dflag.List("")
	b.Click(`button.bulk[data-op="unhook"]`)
	b.WaitFor(fmt.Sprintf(`document.querySelector("#confirm-text").textContent === "This will unhook ALL %d flags (empty pattern). Apply?"`, len(all)))
	b.Click(`#confirm-no`)

	// A term that matches nothing is applied (as in the C library) but the
	// page says so.
	b.TypeInto("#spec", "-admin_ux_typo: ?admin_ux_other:lonely")
	b.Click("#apply")
	b.WaitFor(`document.querySelector("#notice").textContent.includes('deactivate "admin_ux_typo:" matched no flag') &&
		getComputedStyle(document.querySelector("#notice")).display !== "none"`)

	// The history shows the changes, newest first.
	b.WaitFor(`document.querySelectorAll("#changes tr").length === 3 &&
		document.querySelector("#changes tr td.what").textContent === "deactivate admin_ux_typo: (0); rehook admin_ux_other:lonely (1)" &&
		document.querySelector("#changes tr td.num").textContent.includes("matched nothing")`)

	// Live refresh: a change made elsewhere shows up without a reload.
	if _, err := dflag.Activate("admin_ux_other:lonely"); err != nil {
		t.Fatal(err)
	}
	b.WaitFor(fmt.Sprintf(`document.querySelector('#flags tr[data-name=%q] td.act').textContent === "1"`, uxOther.Name()))
	dflag.Deactivate("admin_ux_other:")

	// The status panel: the fleet's values, compact, refreshed live; the
	// panicking status shows its error and breaks nothing else.
	fleet := `#statuses .st[data-name="fleet"]`
	b.WaitFor(`!document.querySelector("#statuses").hidden &&
		document.querySelector('` + fleet + ` .kv[data-key="connected"] .v.no').textContent === "no" &&
		document.querySelector('` + fleet + ` .kv[data-key="last_error"] .v.bad').textContent === "etcd unreachable" &&
		document.querySelector('` + fleet + ` .kv[data-key="keys"] .v').textContent === "2" &&
		document.querySelector('#statuses .st.failed[data-name="probe"] .err').textContent === 'status "probe": panic: probe crashed'`)
	first, _ := b.Eval(`Number(document.querySelector('` + fleet + ` .kv[data-key="age_seconds"] .v').textContent)`).(float64)
	b.WaitFor(fmt.Sprintf(`Number(document.querySelector('`+fleet+` .kv[data-key="age_seconds"] .v').textContent) > %v`, first))
	connected.Store(true)
	b.WaitFor(`document.querySelector('` + fleet + ` .kv[data-key="connected"] .v.yes').textContent === "yes" &&
		document.querySelector('` + fleet + ` .kv[data-key="last_error"] .v').textContent === "—"`)
	if got := b.Eval(`[...document.querySelectorAll("#statuses .st")].map((e) => e.dataset.name).join()`); got != "fleet,markup,probe" {
		t.Errorf("status panel shows %v, want fleet,markup,probe", got)
	}
	// A value is text, never markup.
	if got := b.Eval(`document.querySelector('#statuses .st[data-name="markup"] .kv[data-key="note"] .v').textContent + " " +
		(document.querySelector("#injected") === null)`); got != "<img src=x id=injected> true" {
		t.Errorf("a status value as markup: %v", got)
	}
	if msg := b.Eval(`document.querySelector("#error").textContent`); msg != "" {
		t.Errorf("page shows an error beside the status panel: %v", msg)
	}
}

// TestLayoutInChromium renders the console at 1400 and 1024 pixels wide,
// saves a screenshot of each (into $BOUNDED_SCREENSHOTS when set) and
// checks from the DOM that no flag name wraps, that names are never broken
// inside a word, and that the table and the status panel fit the window.
func TestLayoutInChromium(t *testing.T) {
	t.Cleanup(admin.ReleaseHolds)
	browsertest.Need(t)
	srv := httptest.NewServer(admin.Handler(quiet, admin.WithStatus("fleet", func() any {
		return map[string]any{"connected": false, "age_seconds": 42.5, "keys": 3,
			"last_error": "context deadline exceeded: dial tcp 10.20.30.40:2379: connect: connection refused; retrying every 1s, the state in force is the last one read"}
	})))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	b := browsertest.Start(t, ctx)
	defer b.Close()
	// An owner with terms, as an operator's change makes one.
	h := admin.Handler(quiet)
	post(t, h, form("op", "activate", "pattern", "admin_ux:catalogue_cache"))
	post(t, h, form("op", "deactivate", "name", uxLong.Name()))
	dir := os.Getenv("BOUNDED_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	for _, width := range []int{1400, 1024} {
		b.Call("Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": false}, nil)
		b.Call("Page.navigate", map[string]any{"url": srv.URL + "/#admin_"}, nil)
		b.WaitFor(`document.querySelectorAll("#flags tr[data-name]").length > 8 && document.querySelectorAll("#flags td.owners span").length >= 3 &&
			document.querySelectorAll("#statuses .st .kv").length === 4`)
		var bad []string
		raw := b.Eval(`(() => {
			const bad = [];
			const oneLine = (e) => {
				const lh = parseFloat(getComputedStyle(e).lineHeight) || 20;
				return e.getClientRects().length === 1 && e.getBoundingClientRect().height < lh * 1.5;
			};
			for (const id of document.querySelectorAll("#flags .name .id")) {
				// No part of a name ever breaks; a name of ordinary length
				// does not wrap at all.
				const [k, n] = [id.querySelector(".k"), id.querySelector(".n")];
				for (const part of [k, n]) if (!oneLine(part)) bad.push(part.textContent + " breaks");
				if (id.textContent.length <= 48 && k.getBoundingClientRect().top !== n.getBoundingClientRect().top) bad.push(id.textContent + " wraps");
			}
			for (const w of document.querySelectorAll("#flags .name small")) {
				// A path may wrap, but only after a '/': each line must end at one.
				const range = document.createRange();
				let prevTop = null, prevText = "";
				for (const node of w.childNodes) {
					if (node.nodeType !== 3 || node.textContent === "") continue;
					range.selectNodeContents(node);
					const rects = range.getClientRects();
					if (rects.length > 1) bad.push("path segment " + node.textContent + " breaks inside");
				}
			}
			const panel = document.querySelector("#statuses").getBoundingClientRect();
			if (panel.right > window.innerWidth || panel.height > 80) bad.push("status panel " + Math.round(panel.width) + "x" + Math.round(panel.height) + " is not compact");
			if (document.documentElement.scrollWidth > window.innerWidth) {
				const widths = [...document.querySelectorAll("#table thead th")].map((th) => th.textContent + "=" + Math.round(th.getBoundingClientRect().width));
				bad.push("page scrolls sideways: " + document.documentElement.scrollWidth + " > " + window.innerWidth + " (" + widths.join(" ") + ")");
			}
			return bad;
		})()`)
		if err := browsertest.Remarshal(raw, &bad); err != nil {
			t.Fatal(err)
		}
		if len(bad) > 0 {
			t.Errorf("at %d px: %q", width, bad)
		}
		var shot struct{ Data string }
		b.Call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": false}, &shot)
		data, err := base64.StdEncoding.DecodeString(shot.Data)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width != width {
			t.Errorf("screenshot at %d px: %v, width %d", width, err, cfg.Width)
		}
		name := filepath.Join(dir, fmt.Sprintf("console-%d.png", width))
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", name)
	}
}
