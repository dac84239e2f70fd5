package keymap

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"time"
)

// Decode returns the arguments whose binary key is data: [Key.Text] of the
// Raw or Encoded(Binary) keymap, as []byte. Positional arguments come back in
// Pos, an ignored one as nil, and named arguments in Named. Values come back
// as nil, bool, int64 or uint64 (integers, and floats with integer values,
// of untyped keymaps), float64, complex128, string, []byte, time.Time in UTC,
// []any, map[string]any (structs) and map[any]any (maps); numbers of typed
// keymaps come back as their Go kind (int8, float32, ...), and the type names
// of typed times and TextMarshalers are dropped. Map entries whose keys
// decode to equal Go values collapse into one. Decode returns an error
// wrapping [ErrMalformed] for anything else, and for maps whose keys are
// lists, maps or bytes.
func Decode(data []byte) (Args, error) {
	d := decoder{data: data}
	args, err := d.args()
	if err != nil {
		return Args{}, fmt.Errorf("%w: %v at offset %d", ErrMalformed, err, d.off)
	}
	return args, nil
}

type decoder struct {
	data  []byte
	off   int
	depth int
}

func (d *decoder) args() (Args, error) {
	var a Args
	v, err := d.byte()
	if err != nil {
		return a, err
	}
	if v != Version {
		d.off--
		return a, fmt.Errorf("version %d, want %d", v, Version)
	}
	n, err := d.count()
	if err != nil {
		return a, err
	}
	for range n {
		tag, err := d.peek()
		if err != nil {
			return a, err
		}
		switch {
		case tag == tagName:
			d.off++
			name, err := d.name()
			if err != nil {
				return a, err
			}
			v, err := d.value()
			if err != nil {
				return a, err
			}
			if a.Named == nil {
				a.Named = make(map[string]any)
			}
			if _, dup := a.Named[string(name)]; dup {
				return a, fmt.Errorf("duplicate argument %q", name)
			}
			a.Named[string(name)] = v
		case a.Named != nil:
			return a, fmt.Errorf("positional argument after named ones")
		case tag == tagIgnored:
			d.off++
			a.Pos = append(a.Pos, nil)
		default:
			v, err := d.value()
			if err != nil {
				return a, err
			}
			a.Pos = append(a.Pos, v)
		}
	}
	if d.off != len(d.data) {
		return a, fmt.Errorf("%d bytes after the arguments", len(d.data)-d.off)
	}
	return a, nil
}

func (d *decoder) value() (any, error) {
	tag, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagNil:
		return nil, nil
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagInt:
		return d.varint()
	case tagUint:
		u, err := d.uvarint()
		if err == nil && u <= math.MaxInt64 {
			err = fmt.Errorf("uint %d not above math.MaxInt64", u)
		}
		return u, err
	case tagFloat:
		return d.float64()
	case tagComplex:
		re, err := d.float64()
		if err != nil {
			return nil, err
		}
		im, err := d.float64()
		return complex(re, im), err
	case tagNumber:
		return d.number()
	case tagString:
		s, err := d.text()
		return string(s), err
	case tagBytes:
		b, err := d.text()
		return append([]byte{}, b...), err
	case tagTime:
		s, err := d.text()
		if err != nil {
			return nil, err
		}
		return time.Parse(timeLayout, string(s))
	case tagTyped:
		if _, err := d.text(); err != nil {
			return nil, err
		}
		return d.nested(d.value)
	case tagList:
		return d.nested(d.list)
	case tagMap:
		return d.nested(d.mapValue)
	}
	d.off--
	return nil, fmt.Errorf("unknown tag %#x", tag)
}

func (d *decoder) nested(decode func() (any, error)) (any, error) {
	if d.depth == MaxDepth {
		return nil, fmt.Errorf("nested more than %d levels", MaxDepth)
	}
	d.depth++
	v, err := decode()
	d.depth--
	return v, err
}

func (d *decoder) list() (any, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	l := make([]any, n)
	for i := range l {
		if l[i], err = d.value(); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (d *decoder) mapValue() (any, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return map[any]any{}, nil
	}
	if tag, _ := d.peek(); tag == tagName {
		m := make(map[string]any, n)
		for range n {
			if tag, err := d.byte(); err != nil || tag != tagName {
				return nil, fmt.Errorf("struct field without a name")
			}
			name, err := d.name()
			if err != nil {
				return nil, err
			}
			if m[string(name)], err = d.value(); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	m := make(map[any]any, n)
	for range n {
		k, err := d.value()
		if err != nil {
			return nil, err
		}
		if k != nil && !reflect.TypeOf(k).Comparable() {
			return nil, fmt.Errorf("map key of type %T", k)
		}
		if m[k], err = d.value(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// number decodes a number of a typed keymap: a kind byte and its payload.
func (d *decoder) number() (any, error) {
	b, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch k := reflect.Kind(b); k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := d.varint()
		if err != nil {
			return nil, err
		}
		v := reflect.New(predeclared[k]).Elem()
		if v.OverflowInt(i) {
			return nil, fmt.Errorf("%d overflows %s", i, k)
		}
		v.SetInt(i)
		return v.Interface(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		v := reflect.New(predeclared[k]).Elem()
		if v.OverflowUint(u) {
			return nil, fmt.Errorf("%d overflows %s", u, k)
		}
		v.SetUint(u)
		return v.Interface(), nil
	case reflect.Float32:
		return d.float32()
	case reflect.Float64:
		return d.float64()
	case reflect.Complex64:
		re, err := d.float32()
		if err != nil {
			return nil, err
		}
		im, err := d.float32()
		return complex(re, im), err
	case reflect.Complex128:
		re, err := d.float64()
		if err != nil {
			return nil, err
		}
		im, err := d.float64()
		return complex(re, im), err
	}
	d.off--
	return nil, fmt.Errorf("unknown number kind %#x", b)
}

func (d *decoder) byte() (byte, error) {
	if d.off >= len(d.data) {
		return 0, fmt.Errorf("unexpected end")
	}
	d.off++
	return d.data[d.off-1], nil
}

func (d *decoder) peek() (byte, error) {
	if d.off >= len(d.data) {
		return 0, fmt.Errorf("unexpected end")
	}
	return d.data[d.off], nil
}

func (d *decoder) next(n int) ([]byte, error) {
	if n > len(d.data)-d.off {
		return nil, fmt.Errorf("unexpected end")
	}
	d.off += n
	return d.data[d.off-n : d.off], nil
}

func (d *decoder) uvarint() (uint64, error) {
	u, n := binary.Uvarint(d.data[d.off:])
	if n <= 0 {
		return 0, fmt.Errorf("bad uvarint")
	}
	d.off += n
	return u, nil
}

func (d *decoder) varint() (int64, error) {
	i, n := binary.Varint(d.data[d.off:])
	if n <= 0 {
		return 0, fmt.Errorf("bad varint")
	}
	d.off += n
	return i, nil
}

// count reads the number of items of a list, a map or an argument list;
// each takes at least one byte.
func (d *decoder) count() (int, error) {
	u, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if u > uint64(len(d.data)-d.off) {
		return 0, fmt.Errorf("count %d beyond the end", u)
	}
	return int(u), nil
}

// text reads a length and that many bytes.
func (d *decoder) text() ([]byte, error) {
	u, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if u > uint64(len(d.data)-d.off) {
		return nil, fmt.Errorf("length %d beyond the end", u)
	}
	return d.next(int(u))
}

// name reads an argument or field name.
func (d *decoder) name() ([]byte, error) {
	name, err := d.text()
	if err == nil && !validName(string(name)) {
		err = fmt.Errorf("invalid name %q", name)
	}
	return name, err
}

func (d *decoder) float64() (float64, error) {
	b, err := d.next(8)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
}

func (d *decoder) float32() (float32, error) {
	b, err := d.next(4)
	if err != nil {
		return 0, err
	}
	return math.Float32frombits(binary.BigEndian.Uint32(b)), nil
}
