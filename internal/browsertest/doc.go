// Package browsertest drives headless Chromium from tests, so that the
// project's web pages (the dflag console, the trace store's pages) are
// checked in a real browser, under their real Content-Security-Policy.
//
// It starts /usr/bin/chromium with the project's flags (see [Args]) and
// speaks the DevTools protocol to it over --remote-debugging-pipe: JSON
// messages separated by NUL bytes on two inherited file descriptors. It
// needs no package beyond the standard library and no network port.
//
// A test calls [Need] first: it skips the test when Chromium is missing,
// or fails it when the environment sets BOUNDED_REQUIRE_TOOLS=1, as CI does
// (.ci/install-chromium installs it). Then [Start] opens a page, and the
// [Browser]'s methods navigate, evaluate JavaScript, wait for a condition,
// click, type and take screenshots. Every wait is bounded only by the
// context given to [Start], so a slow machine makes a test slower, not
// flaky. When the test fails, the page's exceptions, console errors and
// Chromium's standard error are logged.
//
// The package is for tests only; it calls t.Fatal on errors.
package browsertest
