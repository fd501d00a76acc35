package bench

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The repository's Markdown: README.md and docs/*.md, relative to this
// package's directory.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{filepath.Join("..", "README.md")}, files...)
}

var (
	// [text](target) and [text](target "title"), not images' sources.
	linkRE = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	// Fenced code blocks, whose brackets are not links.
	fenceRE = regexp.MustCompile("(?ms)^```.*?^```")
	// Inline code spans.
	codeRE = regexp.MustCompile("`[^`\n]*`")
)

// anchors returns the GitHub anchors of the Markdown file's headings.
func anchors(src string) map[string]bool {
	set := map[string]bool{}
	src = fenceRE.ReplaceAllString(src, "")
	for _, line := range strings.Split(src, "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		var b strings.Builder
		for _, r := range h {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				b.WriteRune(r)
			}
		}
		set[b.String()] = true
	}
	return set
}

// TestDocLinks checks that every relative link in README.md and docs/*.md
// names a file or directory that exists and, for a Markdown file, a heading
// that it has.
func TestDocLinks(t *testing.T) {
	checked := 0
	for _, file := range markdownFiles(t) {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		src := codeRE.ReplaceAllString(fenceRE.ReplaceAllString(string(raw), ""), "")
		for _, m := range linkRE.FindAllStringSubmatch(src, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			checked++
			path, frag, _ := strings.Cut(target, "#")
			dest := file
			if path != "" {
				dest = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: link %q: %v", file, target, err)
					continue
				}
			}
			if frag == "" || !strings.HasSuffix(dest, ".md") {
				continue
			}
			b, err := os.ReadFile(dest)
			if err != nil {
				t.Errorf("%s: link %q: %v", file, target, err)
				continue
			}
			if !anchors(string(b))[frag] {
				t.Errorf("%s: link %q: %s has no heading #%s", file, target, dest, frag)
			}
		}
	}
	if checked == 0 {
		t.Error("no relative links found: the pattern is broken")
	}
}

// TestReadmeLength keeps the README a front page (at most about 250 lines):
// reference material goes in docs/ and in the packages' documentation.
func TestReadmeLength(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), "\n"); n > 260 {
		t.Errorf("README.md has %d lines; keep it under about 250 and move reference material to docs/", n)
	}
}

// TestDocAnchors pins the anchor rule the link check uses.
func TestDocAnchors(t *testing.T) {
	got := anchors("# Design and layering\n## `go.work` and modules\n```\n# not a heading\n```\n## Two kinds of site, one record type\n")
	for _, want := range []string{"design-and-layering", "gowork-and-modules", "two-kinds-of-site-one-record-type"} {
		if !got[want] {
			t.Errorf("no anchor %q in %v", want, got)
		}
	}
	if got["not-a-heading"] {
		t.Errorf("a line in a code block made an anchor: %v", got)
	}
}
