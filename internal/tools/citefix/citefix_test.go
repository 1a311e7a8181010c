package main

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

// TestRewriteForms pins the rewrite of each citation form.
func TestRewriteForms(t *testing.T) {
	tests := []struct{ in, want string }{
		{"// (DESIGN §6).", `// (docs/api-tokens.md, "Deliberate differences").`},
		{"// (DESIGN §3, §6): x", `// (docs/architecture.md, "Storage and invalidation"; docs/api-tokens.md, "Deliberate differences"): x`},
		{"// plus DESIGN §6's storage rule", `// plus authgate's (docs/api-tokens.md, "Deliberate differences") storage rule`},
		{"// improvements of DESIGN.md §6: only", `// improvements of docs/api-tokens.md, "Deliberate differences": only`},
		{"// (Djblets §5.4).", `// (Djblets; see docs/api-tokens.md, "List filtering").`},
		{"// Djblets §6.3 skips them", `// Djblets (see docs/api-tokens.md, "OAuth2 scopes") skips them`},
		{"// (Djblets §4.2 step 7 reports", `// (Djblets (see docs/api-tokens.md, "Policy validation", step 7) reports`},
		{"// Djblets §5.2 rule 7: no cascade", `// Djblets (see docs/api-tokens.md, "Policy decisions", rule 7): no cascade`},
		{"// Djblets §3.1 step 5.", `// Djblets (see docs/api-tokens.md, "Manager operations").`},
		{"// codes (spec/djblets-tokens.md §8), plus", `// codes (docs/api-tokens.md, "Errors and codes"), plus`},
		{"// semantics (spec/djblets-tokens.md §1–§3, §7.3, §9) and", `// semantics (docs/api-tokens.md) and`},
		{"// (spec §6.2/§6.3), in", `// (docs/api-tokens.md, "OAuth2 scopes"), in`},
		{"// is spec §3.1's table", `// is Djblets' (docs/api-tokens.md, "Manager operations") table`},
		{"// Spec §2.2: the order", `// docs/api-tokens.md, "Generators": the order`},
		{"// (fail closed, spec §10 item 17).", `// (fail closed, docs/api-tokens.md, "Deliberate differences").`},
		{"// (audit row 5).", `// (docs/go-oauth2.md, "Findings and their tests", finding 5).`},
		{"// (audit rows 1, 2, 5, 7), are", `// (docs/go-oauth2.md, "Findings and their tests", findings 1, 2, 5, 7), are`},
		{"// (audit §9, row 3).", `// (docs/go-oauth2.md, "Redirect URIs"; docs/go-oauth2.md, "Findings and their tests", finding 3).`},
		{"// (audit\n// §5, go-oauth2#106).", `// (docs/go-oauth2.md, "Store contracts", go-oauth2#106).`},
		{"// (go-oauth2 audit §15 item 1);", `// (docs/go-oauth2.md, "Hooks authgate replaces", item 1);`},
		{"// (audit §15.4). The", `// (docs/go-oauth2.md, "Hooks authgate replaces", item 4). The`},
		{"// (spec/go-oauth2-hardening.md).", `// (docs/go-oauth2.md).`},
		{"// Checklist: PKCE", `// Rule of docs/security.md, "RFC 9700 and OAuth 2.1 rules": PKCE`},
		{`// Audit row 5 / checklist "codes single-use": 50`, `// docs/go-oauth2.md, "Findings and their tests", finding 5 / docs/security.md, "RFC 9700 and OAuth 2.1 rules", rule "codes single-use": 50`},
		{"// (… checklist §3b).", `// (… docs/security.md, "Token formats").`},
		{"// closed (DESIGN §6, spec §10 item 17).", `// closed (docs/api-tokens.md, "Deliberate differences").`},
		{"// (STYLE.md §1).", `// (docs/architecture.md, "Storage and invalidation").`},
		{"// cookie (CONTRACTS.md).", `// cookie (docs/architecture.md, "Browser sessions").`},
		// Not citations: left alone.
		{"// RFC 6749 §5.2 and the audit log", "// RFC 6749 §5.2 and the audit log"},
		{"// TestChecklist_PKCE covers it", "// TestChecklist_PKCE covers it"},
	}
	for _, tc := range tests {
		got, _ := Rewrite(tc.in)
		if got != tc.want {
			t.Errorf("Rewrite(%q)\n got %s\nwant %s", tc.in, got, tc.want)
		}
		if again, n := Rewrite(got); again != got || n != 0 {
			t.Errorf("Rewrite is not idempotent on %q: %q (%d)", got, again, n)
		}
	}
}

// TestRewriteFileTouchesOnlyComments: code and string literals keep their
// text, comments are rewritten, and the result is gofmt-formatted.
func TestRewriteFileTouchesOnlyComments(t *testing.T) {
	src := []byte("package p\n\n// F follows DESIGN §6.\nfunc F() string {\n\treturn \"DESIGN §6\" // audit row 5\n}\n")
	want := "package p\n\n// F follows docs/api-tokens.md, \"Deliberate differences\".\nfunc F() string {\n" +
		"\treturn \"DESIGN §6\" // docs/go-oauth2.md, \"Findings and their tests\", finding 5\n}\n"
	got, comments, cites := RewriteFile(src)
	if string(got) != want || comments != 2 || cites != 2 {
		t.Fatalf("RewriteFile = %d comments, %d citations:\n%s\nwant:\n%s", comments, cites, got, want)
	}
	if again, _, n := RewriteFile(got); n != 0 || !bytes.Equal(again, got) {
		t.Fatalf("second run changed %d citations", n)
	}
}

// TestWrapLongKeepsTitles: a rewritten line that grew too long is wrapped
// at spaces, never inside a quoted section title.
func TestWrapLongKeepsTitles(t *testing.T) {
	in := "\t// manager\": every write validates, with Djblets' messages (docs/api-tokens.md, \"Policy validation\"), and more words here"
	got := wrapLong(in)
	for _, line := range strings.Split(got, "\n") {
		if len(line) > maxLine {
			t.Errorf("line still %d long: %q", len(line), line)
		}
		if !strings.HasPrefix(line, "\t// ") {
			t.Errorf("line lost its comment prefix: %q", line)
		}
	}
	if !strings.Contains(got, `docs/api-tokens.md, "Policy validation"`) {
		t.Errorf("title split: %q", got)
	}
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
