package doccheck

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
)

// ws matches the space between words of a comment, which may include a line
// break and the next line's "//".
const ws = `(?:\s|//)+`

// span is a byte range of a source file.
type span struct{ start, end int }

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

// CommentRuns returns the byte ranges of src's comment groups (consecutive
// comment lines form one run, so a citation may break across lines).
func CommentRuns(src []byte) []span {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ParseComments)
	if err != nil || f == nil {
		return nil
	}
	var runs []span
	for _, g := range f.Comments {
		runs = append(runs, span{fset.Position(g.Pos()).Offset, fset.Position(g.End()).Offset})
	}
	return runs
}
