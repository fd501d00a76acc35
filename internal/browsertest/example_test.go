package browsertest_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"bounded.dev/internal/browsertest"
)

// A browser test: skip without Chromium, load a page, wait for it to
// render, and check what it shows.
func Example() {
	var t *testing.T // the test's
	var srv *httptest.Server
	browsertest.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b := browsertest.Start(t, ctx)
	defer b.Close()
	b.Navigate(srv.URL + "/")
	b.WaitFor(`document.querySelector("#count") !== null`)
	if got := b.Eval(`document.querySelector("#count").textContent`); got != "2 flags" {
		t.Errorf("count: %v", got)
	}
}
