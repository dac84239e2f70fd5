package keymap_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/klepto-sql/klepto/keymap"
)

// The arguments of a function memoized with klepto-sql are one struct.
type forecastArgs struct {
	City string
	Days int
	At   time.Time
}

func ExampleNewString() {
	km, err := keymap.NewString(nil)
	if err != nil {
		panic(err)
	}
	at := time.Date(2026, 11, 27, 8, 0, 0, 0, time.FixedZone("CET", 3600))
	key, err := km.Key(forecastArgs{City: "Paris", Days: 3, At: at})
	if err != nil {
		panic(err)
	}
	fmt.Println(key.Text)
	// Output:
	// (City="Paris", Days=3, At=t"2026-11-27T07:00:00.000000000Z")
}

func ExampleNewHash() {
	km, err := keymap.NewHash(keymap.MD5, nil)
	if err != nil {
		panic(err)
	}
	key, err := km.Key(struct{ N int }{30})
	if err != nil {
		panic(err)
	}
	fmt.Println(km, key.Text)
	// Output:
	// hash(md5) e5e1bbbd6da4449494edea8f7ea164e8
}

func ExampleNewRaw() {
	km, err := keymap.NewRaw(nil)
	if err != nil {
		panic(err)
	}
	key, err := km.Key(struct{ N int }{30})
	if err != nil {
		panic(err)
	}
	fmt.Println(hex.EncodeToString([]byte(key.Text)))
	// Output:
	// 010141014e493c
}

func ExampleNewEncoded() {
	km, err := keymap.NewEncoded(keymap.JSON, nil)
	if err != nil {
		panic(err)
	}
	for _, args := range []any{
		struct {
			City string
			Days int
		}{"Paris", 3},
		keymap.Args{Pos: []any{1.5, []byte("hi")}},
		keymap.Args{Pos: []any{1}, Named: map[string]any{"b": nil, "a": map[int]bool{2: true}}},
	} {
		key, err := km.Key(args)
		if err != nil {
			panic(err)
		}
		fmt.Println(key.Text)
	}
	// Output:
	// {"City":"Paris","Days":3}
	// [1.5,"aGk="]
	// {"pos":[1],"named":{"a":{"2":true},"b":null}}
}

func ExampleDecode() {
	km, err := keymap.NewEncoded(keymap.Binary, nil)
	if err != nil {
		panic(err)
	}
	key, err := km.Key(keymap.Args{Pos: []any{"a", 2.5, 3.0}, Named: map[string]any{"tags": []string{"x"}}})
	if err != nil {
		panic(err)
	}
	args, err := keymap.Decode([]byte(key.Text))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%#v\n%#v\n", args.Pos, args.Named)
	// Output:
	// []interface {}{"a", 2.5, 3}
	// map[string]interface {}{"tags":[]interface {}{"x"}}
}

func ExampleChain() {
	json, err := keymap.NewEncoded(keymap.JSON, nil)
	if err != nil {
		panic(err)
	}
	sha, err := keymap.NewHash(keymap.SHA256, nil)
	if err != nil {
		panic(err)
	}
	km, err := keymap.Chain(json, sha)
	if err != nil {
		panic(err)
	}
	args := struct{ N int }{30}
	key, err := km.Key(args)
	if err != nil {
		panic(err)
	}
	inner, _ := json.Key(args)
	outer, _ := sha.Key(inner.Text)
	fmt.Println(km)
	fmt.Println(key == outer)
	// Output:
	// encoded(json)+hash(sha256)
	// true
}

func ExampleArgs() {
	km, err := keymap.NewString(nil)
	if err != nil {
		panic(err)
	}
	for _, args := range []any{
		keymap.Args{Pos: []any{1, "a", 2.5}},
		keymap.Args{Named: map[string]any{"n": 30}},
		struct{ n int }{30},
		30,
	} {
		key, err := km.Key(args)
		if err != nil {
			panic(err)
		}
		fmt.Println(key.Text)
	}
	// Output:
	// (1, "a", 2.5)
	// (n=30)
	// (n=30)
	// (30)
}

func ExampleOptions_ignore() {
	type query struct {
		SQL     string
		Limit   int
		Logger  *slog.Logger `klepto:"-"`
		Verbose bool
	}
	km, err := keymap.NewString(&keymap.Options{Ignore: []string{"Verbose"}})
	if err != nil {
		panic(err)
	}
	key, err := km.Key(query{SQL: "select 1", Limit: 10, Logger: slog.Default(), Verbose: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(key.Text)

	byPosition, err := keymap.NewString(&keymap.Options{IgnorePositions: []int{1}})
	if err != nil {
		panic(err)
	}
	key, err = byPosition.Key(keymap.Args{Pos: []any{"a", "b", "c"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(key.Text)
	// Output:
	// (SQL="select 1", Limit=10)
	// ("a", _, "c")
}

func ExampleOptions_round() {
	for _, mode := range []keymap.RoundMode{keymap.Simple, keymap.Shallow, keymap.Deep} {
		km, err := keymap.NewString(&keymap.Options{Round: mode, Tol: 1})
		if err != nil {
			panic(err)
		}
		key, err := km.Key(keymap.Args{Pos: []any{2.54, []any{5.47, []float64{8.99}}}})
		if err != nil {
			panic(err)
		}
		fmt.Println(mode, key.Text)
	}
	// Output:
	// simple (2.5, [5.47, [8.99]])
	// shallow (2.5, [5.5, [8.99]])
	// deep (2.5, [5.5, [9]])
}

func ExampleOptions_typed() {
	untyped, err := keymap.NewString(nil)
	if err != nil {
		panic(err)
	}
	typed, err := keymap.NewString(&keymap.Options{Typed: true})
	if err != nil {
		panic(err)
	}
	args := keymap.Args{Pos: []any{1, 1.0, uint8(1), float32(0.5)}}
	for _, km := range []*keymap.Keymap{untyped, typed} {
		key, err := km.Key(args)
		if err != nil {
			panic(err)
		}
		fmt.Println(key.Text)
	}
	// Output:
	// (1, 1, 1, 0.5)
	// (int(1), float64(1), uint8(1), float32(0.5))
}

func ExampleOptions_flat() {
	type args struct{ Z, A int }
	for _, flat := range []bool{false, true} {
		km, err := keymap.NewString(&keymap.Options{Flat: flat})
		if err != nil {
			panic(err)
		}
		key, err := km.Key(args{Z: 1, A: 2})
		if err != nil {
			panic(err)
		}
		fmt.Println(key.Text)
	}
	// Output:
	// (Z=1, A=2)
	// (A=2, Z=1)
}

func ExampleKeymap_Key() {
	km, err := keymap.NewString(nil)
	if err != nil {
		panic(err)
	}
	_, err = km.Key(struct {
		Name     string
		Callback func()
	}{"x", func() {}})
	var unsupported *keymap.UnsupportedTypeError
	if errors.As(err, &unsupported) {
		fmt.Println(unsupported.Type, "at", unsupported.Path)
	}

	key, err := km.Key(struct{ N int }{30})
	if err != nil {
		panic(err)
	}
	fmt.Println(key.Text, hex.EncodeToString(key.Hash[:4]))
	// Output:
	// func() at .Callback
	// (N=30) 67786611
}

func ExampleKeymap_AppendText() {
	km, err := keymap.NewString(nil)
	if err != nil {
		panic(err)
	}
	var buf []byte
	for n := range 3 {
		buf, err = km.AppendText(buf[:0], struct{ N int }{n})
		if err != nil {
			panic(err)
		}
		fmt.Println(string(buf))
	}
	// Output:
	// (N=0)
	// (N=1)
	// (N=2)
}

func ExampleKeymap_String() {
	km, err := keymap.NewHash(keymap.XXH3, &keymap.Options{Flat: true, Round: keymap.Deep, Tol: 2, Ignore: []string{"Log"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(km)
	// Output:
	// hash(xxh3) flat round=deep/2 ignore=[Log]
}
