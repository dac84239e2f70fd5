package archive_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/klepto-sql/klepto/archive"
	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/keymap"
)

// The archives in testdata/before-codec were written by File and Dir
// before the value codec moved to package codec, when their JSON escaped
// <, > and & (json.Marshal). They hold JSON, gob and raw values, and a Dir
// entry compressed with gzip. Data written then must read back the same
// for good: never regenerate them.

// fixRecord is the struct the fixtures store.
type fixRecord struct {
	Name  string
	Tags  []string
	Count int
	Score float64
	Attrs map[string]string
}

var (
	fixRecords = map[string]fixRecord{
		"(name='html')":    {Name: "<b>fish & chips</b>", Tags: []string{"a<b", "c>d", "&amp;"}, Count: 3, Score: 0.5, Attrs: map[string]string{"<k>": "v&w"}},
		"(name='plain')":   {Name: "plain", Count: -7, Score: 1e-3},
		"(name='unicode')": {Name: "naïve café \u2028 \"quoted\"", Tags: []string{}, Count: 1 << 40, Attrs: map[string]string{}},
		"(name='gob')":     {Name: "<gob> & co", Tags: []string{"x"}, Count: 2}, // gob codec
	}
	fixStrings = map[string]string{
		"(s='script')": "<script>alert('x & y')</script>",
		"(s='cmp')":    "a > b && c < d",
		"(s='empty')":  "",
	}
	fixBytes = map[string][]byte{
		"(r='html')":   []byte("<p>&nbsp;</p>"),
		"(r='binary')": {0, 1, 2, 0xff, '<', '&'},
	}
)

// withGzip returns fixRecords and the entry dir_record adds, compressed.
func withGzip() map[string]fixRecord {
	m := map[string]fixRecord{"(name='gzip')": {Name: "<gzip> & co", Score: -2.5}}
	for k, v := range fixRecords {
		m[k] = v
	}
	return m
}

// copyFixture copies testdata/before-codec/name into a temporary
// directory, so that opening it (File creates a lock file) leaves testdata
// alone, and returns the copy's path.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("testdata", "before-codec", name)
	dst := filepath.Join(t.TempDir(), name)
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	if fi.IsDir() {
		err = os.CopyFS(dst, os.DirFS(src))
	} else {
		var data []byte
		if data, err = os.ReadFile(src); err == nil {
			err = os.WriteFile(dst, data, 0o644)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// readBack checks that a holds exactly want, through Get and All.
func readBack[V any](t *testing.T, a interface {
	cache.Archive[V]
	cache.Lister[V]
}, want map[string]V) {
	t.Helper()
	for k, v := range want {
		got, found, err := a.Get(t.Context(), keymap.NewKey(k))
		if err != nil || !found || !reflect.DeepEqual(got, v) {
			t.Errorf("Get(%q) = %#v, %v, %v; want %#v", k, got, found, err, v)
		}
	}
	all := make(map[string]V)
	for e, err := range a.All(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		all[e.Key.Text] = e.Value
	}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("All = %#v, want %#v", all, want)
	}
}

func TestFileBeforeCodec(t *testing.T) {
	t.Run("record", func(t *testing.T) {
		readBack(t, openFile[fixRecord](t, copyFixture(t, "file_record.klepto"), nil), fixRecords)
	})
	t.Run("string", func(t *testing.T) {
		readBack(t, openFile[string](t, copyFixture(t, "file_string.klepto"), nil), fixStrings)
	})
	t.Run("bytes", func(t *testing.T) {
		readBack(t, openFile[[]byte](t, copyFixture(t, "file_bytes.klepto"), &archive.FileOptions{Codec: codec.Raw}), fixBytes)
	})
}

func TestDirBeforeCodec(t *testing.T) {
	t.Run("record", func(t *testing.T) {
		readBack(t, openDir[fixRecord](t, copyFixture(t, "dir_record"), nil), withGzip())
	})
	t.Run("string", func(t *testing.T) {
		readBack(t, openDir[string](t, copyFixture(t, "dir_string"), nil), fixStrings)
	})
	t.Run("bytes", func(t *testing.T) {
		readBack(t, openDir[[]byte](t, copyFixture(t, "dir_bytes"), &archive.DirOptions{Codec: codec.Raw}), fixBytes)
	})
}
