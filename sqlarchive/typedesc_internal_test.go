package sqlarchive

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

type point struct {
	X, Y float64
}

type renamed struct {
	X, Z float64
}

type tagged struct {
	X float64 `json:"x"`
	Y float64
}

type node struct {
	Value    int
	Children []*node
	hidden   string // unexported: no codec sees it
}

var _ = node{hidden: ""}

type celsius float64

// TestDescribeType: descriptions give the shape with field names, json
// tags and package paths; they tell apart the changes that change an
// encoding, and are the same for the same type.
func TestDescribeType(t *testing.T) {
	for _, tc := range []struct {
		t    reflect.Type
		want string
	}{
		{reflect.TypeFor[int](), "int"},
		{reflect.TypeFor[string](), "string"},
		{reflect.TypeFor[map[string][]float64](), "map[string][]float64"},
		{reflect.TypeFor[struct {
			N    int
			Name string `json:"name,omitempty"`
		}](), "struct{N int; Name string `json:\"name,omitempty\"`}"},
		{reflect.TypeFor[point](), "github.com/klepto-sql/klepto/sqlarchive.point{X float64; Y float64}"},
		{reflect.TypeFor[*[2]celsius](), "*[2]github.com/klepto-sql/klepto/sqlarchive.celsius(float64)"},
		{reflect.TypeFor[node](), "github.com/klepto-sql/klepto/sqlarchive.node{Value int; Children []*github.com/klepto-sql/klepto/sqlarchive.node}"},
		{reflect.TypeFor[time.Time](), "time.Time"},
		{reflect.TypeFor[error](), "error"},
		{reflect.TypeFor[any](), "interface {}"},
	} {
		if got := describeType(tc.t); got != tc.want {
			t.Errorf("describeType(%v) = %q, want %q", tc.t, got, tc.want)
		}
		if again := describeType(tc.t); again != describeType(tc.t) {
			t.Errorf("describeType(%v) is not deterministic: %q", tc.t, again)
		}
	}
	distinct := []reflect.Type{
		reflect.TypeFor[int](), reflect.TypeFor[string](), reflect.TypeFor[point](), reflect.TypeFor[renamed](),
		reflect.TypeFor[tagged](), reflect.TypeFor[struct{ X, Y float64 }](), reflect.TypeFor[[]int](), reflect.TypeFor[[]int64](),
	}
	seen := map[string]reflect.Type{}
	for _, typ := range distinct {
		d := describeType(typ)
		if other, ok := seen[d]; ok {
			t.Errorf("%v and %v have one description %q", typ, other, d)
		}
		seen[d] = typ
	}
}

// TestDescribeTypeBounded: deep types are cut at maxTypeDepth, and long
// descriptions at maxTypeDesc, still telling types apart.
func TestDescribeTypeBounded(t *testing.T) {
	deep := reflect.TypeFor[int]()
	for range 3 * maxTypeDepth {
		deep = reflect.SliceOf(deep)
	}
	if d := describeType(deep); !strings.HasSuffix(d, "slice...") || strings.Count(d, "[]") != maxTypeDepth {
		t.Errorf("describeType of a deep slice = %q", d)
	}
	// Alike but for the type of the last field, beyond the cut.
	wide := func(last reflect.Type) reflect.Type {
		var fields []reflect.StructField
		for i := range 500 {
			fields = append(fields, reflect.StructField{Name: "Field" + strings.Repeat("x", i%7) + string(rune('A'+i%26)) + strings.Repeat("y", i/26), Type: reflect.TypeFor[int]()})
		}
		fields[len(fields)-1].Type = last
		return reflect.StructOf(fields)
	}
	a, b := describeType(wide(reflect.TypeFor[int]())), describeType(wide(reflect.TypeFor[string]()))
	if len(a) > maxTypeDesc || len(b) > maxTypeDesc || a == b {
		t.Errorf("long descriptions: %d and %d bytes, equal %v", len(a), len(b), a == b)
	}
}
