package keymap_test

import (
	"math"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/keymap"
)

type (
	plainArgs struct {
		N int
		S string
		F [2]float32
		C complex128
		_ int
		T string `klepto:"tag"`
	}
	textArg  struct{ N int }
	ptrText  struct{ N int }
	nested   struct{ In plainArgs }
	withText struct{ T textArg }
)

func (textArg) MarshalText() ([]byte, error)  { return []byte("t"), nil }
func (*ptrText) MarshalText() ([]byte, error) { return []byte("p"), nil }

func TestEqualKeys(t *testing.T) {
	k, err := keymap.NewString(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		typ  reflect.Type
		want bool
	}{
		{reflect.TypeFor[int](), true},
		{reflect.TypeFor[string](), true},
		{reflect.TypeFor[float64](), true},
		{reflect.TypeFor[plainArgs](), true},
		{reflect.TypeFor[nested](), true},
		{reflect.TypeFor[[3]uint8](), true},
		{reflect.TypeFor[*int](), false},
		{reflect.TypeFor[any](), false},
		{reflect.TypeFor[[]int](), false},
		{reflect.TypeFor[map[string]int](), false},
		{reflect.TypeFor[struct{ P *int }](), false},
		{reflect.TypeFor[time.Time](), false},
		{reflect.TypeFor[textArg](), false},
		{reflect.TypeFor[ptrText](), false},
		{reflect.TypeFor[withText](), false},
		{reflect.TypeFor[netip.Addr](), false},
		{reflect.TypeFor[keymap.Args](), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := k.EqualKeys(tt.typ); got != tt.want {
			t.Errorf("EqualKeys(%v) = %v, want %v", tt.typ, got, tt.want)
		}
	}
}

// What EqualKeys promises: values == finds equal have one key, under every
// option, including 0 and -0.
func TestEqualKeysEqualValues(t *testing.T) {
	negZero := math.Copysign(0, -1)
	pairs := [][2]plainArgs{
		{{N: 1, S: "a", T: "b"}, {N: 1, S: "a", T: "b"}},
		{{F: [2]float32{0, 1}}, {F: [2]float32{float32(negZero), 1}}},
		{{C: complex(0, 2)}, {C: complex(negZero, 2)}},
	}
	kms := []*keymap.Options{nil, {Typed: true}, {Flat: true}, {Round: keymap.Deep, Tol: 1}, {Ignore: []string{"S"}}}
	for _, opts := range kms {
		for _, mk := range []func(*keymap.Options) (*keymap.Keymap, error){keymap.NewString, keymap.NewRaw} {
			km, err := mk(opts)
			if err != nil {
				t.Fatal(err)
			}
			if !km.EqualKeys(reflect.TypeFor[plainArgs]()) {
				t.Fatalf("%v: EqualKeys(plainArgs) = false", km)
			}
			for _, p := range pairs {
				if p[0] != p[1] {
					t.Fatalf("%+v != %+v", p[0], p[1])
				}
				k0, err0 := km.Key(p[0])
				k1, err1 := km.Key(p[1])
				if err0 != nil || err1 != nil || k0 != k1 {
					t.Errorf("%v: equal values %+v and %+v have keys %q (%v) and %q (%v)", km, p[0], p[1], k0.Text, err0, k1.Text, err1)
				}
			}
		}
	}
}
