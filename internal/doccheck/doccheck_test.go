// Package doccheck holds tests that keep docs/ and the code in step: a Go
// comment cites only files under docs/ (by path, and by a section title that
// exists), and every test a docs file names exists. It has no code of its own.
package doccheck

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// moduleRoot is the directory holding go.mod, above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// Citations a comment must not make: documents a reader of a clone does
// not have. Whitespace may include a line break and the next line's "//".
var forbidden = []struct {
	what string
	re   *regexp.Regexp
}{
	{"the design card", regexp.MustCompile(`\bDESIGN\b`)},
	{"the style notes", regexp.MustCompile(`STYLE\.md`)},
	{"the contracts notes", regexp.MustCompile(`CONTRACTS\.md`)},
	{"a spec file", regexp.MustCompile(`spec/[a-z0-9-]+\.md`)},
	{"a spec section", regexp.MustCompile(`\b[Ss]pec` + ws + `§`)},
	{"the go-oauth2 audit", regexp.MustCompile(`\b[Aa]udit(?:'s)?` + ws + `(?:rows?\b|§)`)},
	{"the shared folder", regexp.MustCompile(`\.\./shared|/work/shared`)},
	{"a section of the Djblets spec", regexp.MustCompile(`Djblets` + ws + `§`)},
	{"the security checklist", regexp.MustCompile(`\b[Cc]hecklist\b`)},
	{"a defect of the Djblets spec", regexp.MustCompile(`§10` + ws + `(?:items?|defects?)`)},
}

// docsCiteRe finds a docs file cited by path, and the section title quoted
// right after it, if any.
var docsCiteRe = regexp.MustCompile(`\bdocs/([A-Za-z0-9_./-]+\.md)(?:,` + ws + `"([^"]+)")?`)

// headings returns the markdown headings of a docs file.
func headings(t *testing.T, path string) (map[string]bool, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	hs := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			hs[strings.TrimSpace(strings.TrimLeft(line, "#"))] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return hs, true
}

// lineOf is the 1-based line of offset off in src.
func lineOf(src []byte, off int) int { return bytes.Count(src[:off], []byte("\n")) + 1 }

// TestCommentsCiteOnlyDocs reads every Go file of the module and fails when
// a comment cites a document that is not in the repository, a docs file
// that does not exist, or a section title that the docs file lacks.
func TestCommentsCiteOnlyDocs(t *testing.T) {
	root := moduleRoot(t)
	files, err := goFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]map[string]bool{}
	var problems []string
	cites := 0
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, path)
		for _, r := range CommentRuns(src) {
			text := string(src[r.start:r.end])
			for _, f := range forbidden {
				for _, loc := range f.re.FindAllStringIndex(text, -1) {
					problems = append(problems, fmt.Sprintf("%s:%d: cites %s: %q",
						rel, lineOf(src, r.start+loc[0]), f.what, text[loc[0]:loc[1]]))
				}
			}
			for _, m := range docsCiteRe.FindAllStringSubmatchIndex(text, -1) {
				cites++
				file := text[m[2]:m[3]]
				at := fmt.Sprintf("%s:%d", rel, lineOf(src, r.start+m[0]))
				hs, ok := docs[file]
				if !ok {
					hs, ok = headings(t, filepath.Join(root, "docs", file))
					if !ok {
						problems = append(problems, fmt.Sprintf("%s: cites docs/%s, which does not exist", at, file))
						continue
					}
					docs[file] = hs
				}
				if m[4] < 0 {
					continue
				}
				title := strings.Join(strings.Fields(strings.ReplaceAll(text[m[4]:m[5]], "//", " ")), " ")
				if !hs[title] {
					problems = append(problems, fmt.Sprintf("%s: docs/%s has no section %q", at, file, title))
				}
			}
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("%d Go files, %d citations of docs/", len(files), cites)
}

// TestDocsNameRealTests: every test, fuzzer or benchmark a docs file names
// (in backquotes) is declared in some _test.go file of the module, so a
// decision table cannot point at a test that was renamed or never written.
func TestDocsNameRealTests(t *testing.T) {
	root := moduleRoot(t)
	files, err := goFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	funcRe := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)\w+)\(`)
	for _, path := range files {
		if !strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range funcRe.FindAllSubmatch(src, -1) {
			declared[string(m[1])] = true
		}
	}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	nameRe := regexp.MustCompile("`((?:Test|Fuzz|Benchmark)[A-Z]\\w*)")
	named := 0
	for _, doc := range docs {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range nameRe.FindAllSubmatch(text, -1) {
			named++
			if !declared[string(m[1])] {
				t.Errorf("%s names %s, which no _test.go file declares", filepath.Base(doc), m[1])
			}
		}
	}
	t.Logf("%d docs files name %d tests", len(docs), named)
}
