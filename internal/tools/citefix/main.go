// Command citefix rewrites the comments of authgate's Go files that cite
// the project's old private design notes so that they cite the files under
// docs/ instead, by path and section title. It touches comment text only,
// is idempotent, and can be re-run on a tree that has changed since.
//
// Usage, from the module root:
//
//	go run ./internal/tools/citefix [-n] [-root DIR]
//
// -n lists what would change without writing. The rewrite rules and the
// mapping of old section numbers to docs sections are in rules.go; the test
// in this package fails when any comment still cites a document outside
// docs/ or a docs file or section that does not exist. See docs/README.md.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

func main() {
	root := flag.String("root", ".", "module root to rewrite")
	dry := flag.Bool("n", false, "list changes without writing files")
	flag.Parse()
	st, err := run(*root, *dry)
	if err != nil {
		fmt.Fprintln(os.Stderr, "citefix:", err)
		os.Exit(1)
	}
	fmt.Printf("citefix: %d citations rewritten in %d comments of %d files\n", st.citations, st.comments, st.files)
}

// stats counts what a run changed.
type stats struct{ files, comments, citations int }

func run(root string, dry bool) (stats, error) {
	var st stats
	files, err := goFiles(root)
	if err != nil {
		return st, err
	}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			return st, err
		}
		out, comments, cites := RewriteFile(src)
		if cites == 0 {
			continue
		}
		st.files++
		st.comments += comments
		st.citations += cites
		if dry {
			fmt.Printf("%s: %d citations in %d comments\n", path, cites, comments)
			continue
		}
		info, err := os.Stat(path)
		if err != nil {
			return st, err
		}
		if err := os.WriteFile(path, out, info.Mode().Perm()); err != nil {
			return st, err
		}
	}
	return st, nil
}

// goFiles lists the .go files under root, skipping hidden directories,
// testdata and vendor.
func goFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") {
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// span is a byte range of a source file.
type span struct{ start, end int }

// CommentRuns returns the comment runs of a Go source file: single comments,
// or consecutive line comments separated by nothing but one line break and
// indentation, so that a citation broken across lines is seen whole.
func CommentRuns(src []byte) []span {
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	var s scanner.Scanner
	s.Init(file, src, func(token.Position, string) {}, scanner.ScanComments)
	var runs []span
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok != token.COMMENT {
			continue
		}
		start := file.Offset(pos)
		end := start + len(lit)
		if n := len(runs); n > 0 {
			between := src[runs[n-1].end:start]
			if len(bytes.TrimSpace(between)) == 0 && bytes.Count(between, []byte("\n")) == 1 &&
				bytes.HasPrefix(src[start:], []byte("//")) && bytes.HasPrefix(src[runs[n-1].start:], []byte("//")) {
				runs[n-1].end = end
				continue
			}
		}
		runs = append(runs, span{start, end})
	}
	return runs
}

// RewriteFile rewrites the citations in src's comments and returns the new
// source, the number of comment runs changed and of citations rewritten.
func RewriteFile(src []byte) ([]byte, int, int) {
	runs := CommentRuns(src)
	var out bytes.Buffer
	last, comments, cites := 0, 0, 0
	for _, r := range runs {
		text, n := Rewrite(string(src[r.start:r.end]))
		if n == 0 {
			continue
		}
		comments++
		cites += n
		out.Write(src[last:r.start])
		out.WriteString(wrapLong(text))
		last = r.end
	}
	if cites == 0 {
		return src, 0, 0
	}
	out.Write(src[last:])
	if formatted, err := format.Source(out.Bytes()); err == nil {
		return formatted, comments, cites
	}
	return out.Bytes(), comments, cites
}

// Lines a rewrite made longer than maxLine are wrapped at wrapWidth
// characters of text; quoted section titles are never split.
const (
	maxLine   = 100
	wrapWidth = 76
)

var lineCommentRe = regexp.MustCompile(`^([ \t]*//[ \t]*)(- )?(.*)$`)

// wrapLong wraps the over-long line comments of a rewritten comment run.
func wrapLong(run string) string {
	lines := strings.Split(run, "\n")
	var out []string
	for i, line := range lines {
		m := lineCommentRe.FindStringSubmatch(line)
		if len(line) <= maxLine || m == nil || strings.HasPrefix(m[1], "//\t") {
			out = append(out, line)
			continue
		}
		first, cont := m[1]+m[2], m[1]
		if m[2] != "" {
			cont += "  "
		}
		if i == 0 {
			// A trailing comment after code: continue on the comment's own
			// indentation, taken from the next line or none.
			cont = strings.TrimLeft(cont, " \t")
			if j := strings.Index(line, "//"); j > 0 {
				indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
				cont = indent + strings.TrimLeft(cont, " \t")
			}
		}
		cur := first
		for _, w := range words(m[3]) {
			if len(cur) > len(first) && len(cur)+1+len(w) > len(cont)+wrapWidth {
				out = append(out, cur)
				cur = cont
			}
			if cur != first && cur != cont {
				cur += " "
			}
			cur += w
		}
		out = append(out, cur)
	}
	return strings.Join(out, "\n")
}

// words splits comment text at spaces, keeping a quoted title with the
// citation before it, so a docs path and its quoted title stay on one line.
func words(s string) []string {
	var ws []string
	open := false // inside a title that follows a docs path
	for _, f := range strings.Fields(s) {
		n := len(ws)
		switch {
		case open:
			ws[n-1] += " " + f
			open = !strings.Contains(f, `"`)
		case n > 0 && strings.HasSuffix(ws[n-1], ".md,") && strings.HasPrefix(f, `"`):
			ws[n-1] += " " + f
			open = strings.Count(f, `"`) == 1
		default:
			ws = append(ws, f)
		}
	}
	return ws
}
