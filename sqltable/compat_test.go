package sqltable_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/klepto-sql/klepto/codec"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqltable"
)

// testdata/before-codec.sqlite was written by Table before the value codec
// moved to package codec: tables record_json and string_json of the JSON
// codec (unescaped <, > and &), record_gob of the gob codec and bytes_raw of
// the raw codec. Data written then must read back the same for good: never
// regenerate it.

// fixRecord is the struct the fixture stores.
type fixRecord struct {
	Name  string
	Tags  []string
	Count int
	Score float64
	Attrs map[string]string
}

func TestReadBeforeCodec(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "before-codec.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "before-codec.sqlite")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	db := sqltest.SQLiteAt(t, path)
	html := fixRecord{Name: "<b>fish & chips</b>", Tags: []string{"a<b", "c>d", "&amp;"}, Count: 3, Score: 0.5,
		Attrs: map[string]string{"<k>": "v&w"}}
	plain := fixRecord{Name: "plain", Count: -7, Score: 1e-3}
	unicode := fixRecord{Name: "naïve café \u2028 \"quoted\"", Tags: []string{}, Count: 1 << 40, Attrs: map[string]string{}}
	t.Run("record_json", func(t *testing.T) {
		readBack(t, db, "record_json", codec.JSON, map[string]fixRecord{
			"(name='html')": html, "(name='plain')": plain, "(name='unicode')": unicode})
	})
	t.Run("record_gob", func(t *testing.T) {
		unicode := unicode
		unicode.Tags = nil // gob sends no empty slices
		readBack(t, db, "record_gob", codec.Gob, map[string]fixRecord{
			"(name='html')": html, "(name='plain')": plain, "(name='unicode')": unicode})
	})
	t.Run("string_json", func(t *testing.T) {
		readBack(t, db, "string_json", codec.JSON, map[string]string{
			"(s='script')": "<script>alert('x & y')</script>",
			"(s='cmp')":    "a > b && c < d",
			"(s='empty')":  "",
		})
	})
	t.Run("bytes_raw", func(t *testing.T) {
		readBack(t, db, "bytes_raw", codec.Raw, map[string][]byte{
			"(r='html')":   []byte("<p>&nbsp;</p>"),
			"(r='binary')": {0, 1, 2, 0xff, '<', '&'},
		})
	})
}

// readBack checks that the table name holds exactly want, through Get and
// All.
func readBack[V any](t *testing.T, db sqltable.Querier, name string, c codec.Codec, want map[string]V) {
	t.Helper()
	tbl, err := sqltable.Open[V](t.Context(), db, name, &sqltable.Options{Dialect: dialect.SQLite, Codec: c})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	for k, v := range want {
		got, found, err := tbl.Get(t.Context(), keymap.NewKey(k))
		if err != nil || !found || !reflect.DeepEqual(got, v) {
			t.Errorf("Get(%q) = %#v, %v, %v; want %#v", k, got, found, err, v)
		}
	}
	all := make(map[string]V)
	for e, err := range tbl.All(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		all[e.Key.Text] = e.Value
	}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("All = %#v, want %#v", all, want)
	}
}
