package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/keymap"
	"github.com/klepto-sql/klepto/sqlarchive"
)

// memoizeInto calls fn memoized as name, with opts, on args, in the
// SQLite database path, and returns its key text.
func memoizeInto[A, R any](t *testing.T, path, name string, fn func(context.Context, A) (R, error), km *keymap.Keymap, args A) string {
	t.Helper()
	ctx := t.Context()
	db, err := sql.Open("sqlite3", dialect.SQLiteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := sqlarchive.Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	m, err := sqlarchive.Memoize(ctx, a, name, fn, &sqlarchive.MemoizeOptions[R]{Memo: cache.MemoOptions[R]{Keymap: km}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Call(ctx, args); err != nil {
		t.Fatal(err)
	}
	key, err := m.Keymap().Key(args)
	if err != nil {
		t.Fatal(err)
	}
	return key.Text
}

// key prints the key text and hash that the memo's own keymap gave the
// call, so that get finds the row the memoized call wrote, whatever the
// keymap.
func TestKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "memo.db")
	dsn := "sqlite:" + path
	type point struct {
		X, Y int
		Log  func() `klepto:"-"`
	}
	type query struct {
		City  string `klepto:"city"`
		Days  int
		Scale float64
		Tags  []string
		Debug bool
	}
	hashed, err := keymap.NewHash(keymap.SHA256, &keymap.Options{Ignore: []string{"Debug"}, Flat: true})
	if err != nil {
		t.Fatal(err)
	}
	encoded, err := keymap.NewEncoded(keymap.JSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	sq := func(_ context.Context, n int) (int, error) { return n * n, nil }
	norm := func(_ context.Context, p point) (int, error) { return p.X*p.X + p.Y*p.Y, nil }
	forecast := func(_ context.Context, q query) (string, error) { return q.City + " sunny", nil }
	tests := []struct {
		name, args, text, value string
	}{
		{"sq", "12", memoizeInto(t, path, "sq", sq, nil, 12), "144"},
		{"norm", `{"X": 3, "Y": 4}`, memoizeInto(t, path, "norm", norm, nil, point{X: 3, Y: 4}), "25"},
		{"forecast", `{"city": "Oslo", "Days": 3, "Scale": 0.5, "Tags": ["a", "b"], "Debug": true}`,
			memoizeInto(t, path, "forecast", forecast, hashed, query{"Oslo", 3, 0.5, []string{"a", "b"}, false}), `"Oslo sunny"`},
		{"sq_json", "[7]", memoizeInto(t, path, "sq_json", sq, encoded, 7), "49"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := decode[keyJSON](t, ok(t, "key", tc.name, tc.args, "-json", "-db", dsn))
			sum := sha256.Sum256([]byte(tc.text))
			if got.KeyText != tc.text || got.KeyHash != hex.EncodeToString(sum[:]) || got.Name != tc.name {
				t.Fatalf("key %s %s = %+v, want key text %q", tc.name, tc.args, got, tc.text)
			}
			if v := ok(t, "get", tc.name, got.KeyText, "-db", dsn); v != tc.value+"\n" {
				t.Fatalf("get %s %q = %q, want %s", tc.name, got.KeyText, v, tc.value)
			}
			text := ok(t, "key", tc.name, tc.args, "-db", dsn)
			if !strings.Contains(text, "key_text  "+got.KeyText+"\n") || !strings.Contains(text, "key_hash  "+got.KeyHash+"\n") {
				t.Fatalf("key %s %s printed\n%s", tc.name, tc.args, text)
			}
		})
	}
	// The args column, as show prints it, gives the key back.
	shown := decode[[]shownJSON](t, ok(t, "show", "norm", "-json", "-db", dsn))
	args, err := json.Marshal(shown[0].Args)
	if err != nil {
		t.Fatal(err)
	}
	if got := decode[keyJSON](t, ok(t, "key", "norm", string(args), "-json", "-db", dsn)); got.KeyText != shown[0].Key {
		t.Errorf("key norm %s (the args column) = %+v, want the key %q", args, got, shown[0].Key)
	}
	if got := decode[keyJSON](t, ok(t, "key", "forecast", `{"city": "Oslo", "Days": 3, "Scale": 0.5, "Tags": ["a", "b"], "Debug": true}`, "-json", "-db", dsn)); got.Keymap != "hash(sha256) flat ignore=[Debug]" {
		t.Errorf("key -json keymap = %q", got.Keymap)
	}

	fails(t, exitUsage, []string{"key: ARGS-JSON: invalid character"}, "key", "sq", "{n: 1}", "-db", dsn)
	fails(t, exitUsage, []string{"key: ARGS-JSON: more than one JSON value"}, "key", "sq", "1 2", "-db", dsn)
	fails(t, exitUsage, []string{`key: ARGS-JSON: invalid argument name "a b"`}, "key", "sq", `{"a b": 1}`, "-db", dsn)
	fails(t, exitFailure, []string{`no archive "nope"`}, "key", "nope", "1", "-db", dsn)
}
