package facts

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLayout: the stores depend on this leaf package, never on the seat map
// (or anything else of the shell), and this package on nothing of boxoffice.
func TestLayout(t *testing.T) {
	for _, tc := range []struct {
		dir       string
		forbidden []string
	}{
		{"../persistence", []string{"github.com/boxoffice/boxoffice/actors"}},
		{".", []string{"github.com/boxoffice/boxoffice/actors", "github.com/boxoffice/boxoffice/persistence",
			"github.com/boxoffice/boxoffice/edge", "github.com/boxoffice/boxoffice/cluster"}},
	} {
		n := 0
		err := filepath.WalkDir(tc.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			n++
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				for _, bad := range tc.forbidden {
					if p == bad || strings.HasPrefix(p, bad+"/") {
						t.Errorf("%s imports %s", path, p)
					}
				}
			}
			return nil
		})
		if err != nil || n == 0 {
			t.Fatalf("%s: %d files, %v", tc.dir, n, err)
		}
	}
}
