package keymap

import (
	"bytes"
	"encoding"
	"fmt"
	"math"
	"reflect"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// An encoder walks the arguments of one call and writes them with a syntax.
// It lives on the stack of Key or AppendText; the buffers that only some
// values need come from a pool on first use.
type encoder struct {
	syn   syntax
	typed bool
	tol   int

	depth int  // of the value being encoded, at most MaxDepth
	retry bool // second attempt: make values addressable (see errNeedAddr)

	// The pointers, maps and slices on the current path: the first few
	// here, the others in w.
	near    [nearVisits]visit
	nvisits int

	path []string // where an error happened, innermost first
	w    *work
}

// nearVisits is how many visits an encoder holds without a *work.
const nearVisits = 2

// work holds the buffers an encoder uses for some values only.
type work struct {
	visiting []visit            // visits beyond encoder.near
	visited  map[visit]struct{} // the same as visiting, once it grows long
	spans    []span             // map entries being sorted; a stack shared by nested maps
	tmp      []byte             // map entries being reordered
	scratch  []byte             // byte arrays that are not addressable; rounding
	names    []string           // sorted names of Args.Named
	out      []byte             // Key's buffer
	hashIn   []byte             // the binary encoding a Hash keymap digests
	stage    [2][]byte          // texts passed between the stages of a chain
}

// visit identifies a pointer, map or slice: meeting it twice on one path
// means the value contains itself.
type visit struct {
	ptr unsafe.Pointer
	len int
	typ reflect.Type
}

// span locates one encoded map entry relative to the start of the entries.
type span struct{ key, val, end int }

var workPool = sync.Pool{New: func() any { return new(work) }}

// maxPooled is the largest buffer kept for the next call.
const maxPooled = 64 << 10

// work returns e's buffers, taking them from the pool on first use.
func (e *encoder) work() *work {
	if e.w == nil {
		e.w = workPool.Get().(*work)
	}
	return e.w
}

// release returns e's buffers to the pool.
func (e *encoder) release() {
	w := e.w
	if w == nil {
		return
	}
	e.w = nil
	e.reset()
	if cap(w.tmp) > maxPooled || cap(w.scratch) > maxPooled || cap(w.out) > maxPooled ||
		cap(w.hashIn) > maxPooled || cap(w.stage[0]) > maxPooled || cap(w.stage[1]) > maxPooled {
		return // let the garbage collector have them
	}
	clear(w.names)
	w.names = w.names[:0]
	workPool.Put(w)
}

// reset forgets the state of a failed attempt and the references into user
// values.
func (e *encoder) reset() {
	e.depth = 0
	e.retry = false
	e.near = [nearVisits]visit{}
	e.nvisits = 0
	e.path = nil
	if w := e.w; w != nil {
		clear(w.visiting)
		w.visiting = w.visiting[:0]
		w.visited = nil
		w.spans = w.spans[:0]
	}
}

// use prepares e to encode for keymap k.
func (e *encoder) use(k *Keymap) {
	e.syn = k.syn
	e.typed = k.opts.Typed
	e.tol = k.opts.Tol
}

// fail records the path segment seg of a value error and returns err.
func (e *encoder) fail(err error, seg string) error {
	switch err.(type) {
	case *UnsupportedTypeError, *CycleError, *MarshalerError:
		e.path = append(e.path, seg)
	}
	return err
}

// finish fills in the path of a value error.
func (e *encoder) finish(err error) error {
	if len(e.path) > 0 {
		slices.Reverse(e.path)
		setPath(err, strings.Join(e.path, ""))
		e.path = nil
	}
	return err
}

// encode appends v. Floats in v are rounded when rnd >= 0; each level of
// slices, arrays, maps and structs lowers rnd by one.
func (e *encoder) encode(dst []byte, v reflect.Value, rnd int) ([]byte, error) {
	k := v.Kind()
	switch k {
	case reflect.Invalid:
		return e.syn.null(dst), nil
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		if t := v.Type(); !isPlain(t, k) {
			if ti := typeInfoOf(t); ti.special != notSpecial {
				return e.special(dst, v, ti)
			}
		}
		return e.basic(dst, v, k, rnd), nil
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return dst, &UnsupportedTypeError{Type: v.Type()}
	}
	if e.depth == MaxDepth {
		return dst, ErrTooDeep
	}
	e.depth++
	var err error
	switch k {
	case reflect.Pointer:
		dst, err = e.pointer(dst, v, rnd)
	case reflect.Interface:
		if v.IsNil() {
			dst = e.syn.null(dst)
			break
		}
		if e.retry && !v.CanInterface() && v.CanAddr() {
			v = expose(v)
		}
		dst, err = e.encode(dst, e.dynamic(v.Elem()), rnd)
	case reflect.Struct:
		dst, err = e.structValue(dst, v, rnd)
	case reflect.Slice, reflect.Array:
		dst, err = e.list(dst, v, k, rnd)
	case reflect.Map:
		dst, err = e.mapValue(dst, v, rnd)
	}
	e.depth--
	return dst, err
}

func (e *encoder) basic(dst []byte, v reflect.Value, k reflect.Kind, rnd int) []byte {
	switch k {
	case reflect.Bool:
		return e.syn.bool(dst, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return e.int(dst, v.Int(), k)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return e.uint(dst, v.Uint(), k)
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if rnd >= 0 {
			f = e.round(f)
			if k == reflect.Float32 && e.typed {
				f = float64(float32(f))
			}
		}
		return e.float(dst, f, k)
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		c = complex(normalize(real(c)), normalize(imag(c)))
		if e.typed {
			return e.syn.complex(dst, c, k)
		}
		return e.syn.complex(dst, c, reflect.Invalid)
	}
	return e.syn.string(dst, v.String())
}

func (e *encoder) int(dst []byte, i int64, k reflect.Kind) []byte {
	if e.typed {
		return e.syn.int(dst, i, k)
	}
	return e.syn.int(dst, i, reflect.Invalid)
}

func (e *encoder) uint(dst []byte, u uint64, k reflect.Kind) []byte {
	switch {
	case e.typed:
		return e.syn.uint(dst, u, k)
	case u <= math.MaxInt64:
		return e.syn.int(dst, int64(u), reflect.Invalid)
	}
	return e.syn.uint(dst, u, reflect.Invalid)
}

// float appends f, which holds a float32 exactly when k is Float32. Untyped,
// a float with an integer value is written as that integer when it fits an
// int64 or a uint64, so that 1.0 and 1 are one key.
func (e *encoder) float(dst []byte, f float64, k reflect.Kind) []byte {
	f = normalize(f)
	if e.typed {
		return e.syn.float(dst, f, k)
	}
	if f == math.Trunc(f) {
		switch {
		case f >= -(1<<63) && f < 1<<63:
			return e.syn.int(dst, int64(f), reflect.Invalid)
		case f >= 0 && f < 1<<64:
			return e.syn.uint(dst, uint64(f), reflect.Invalid)
		}
	}
	return e.syn.float(dst, f, reflect.Invalid)
}

// normalize turns -0 into 0. (Syntaxes write every NaN alike.)
func normalize(f float64) float64 {
	if f == 0 {
		return 0
	}
	return f
}

func (e *encoder) pointer(dst []byte, v reflect.Value, rnd int) ([]byte, error) {
	if v.IsNil() {
		return e.syn.null(dst), nil
	}
	if !e.enter(visit{ptr: v.UnsafePointer(), typ: v.Type()}) {
		return dst, &CycleError{Type: v.Type()}
	}
	dst, err := e.encode(dst, v.Elem(), rnd)
	e.leave()
	return dst, err
}

func (e *encoder) structValue(dst []byte, v reflect.Value, rnd int) ([]byte, error) {
	ti := typeInfoOf(v.Type())
	switch {
	case ti.special != notSpecial:
		return e.special(dst, v, ti)
	case ti.err != nil:
		return dst, ti.err
	}
	dst = e.syn.mapStart(dst, len(ti.fields))
	for i, f := range ti.fields {
		dst = e.syn.field(dst, i, f.name)
		if f.plain {
			dst = e.basic(dst, v.Field(f.index), f.kind, rnd-1)
			continue
		}
		var err error
		if dst, err = e.encode(dst, v.Field(f.index), rnd-1); err != nil {
			return dst, e.fail(err, "."+f.name)
		}
	}
	return e.syn.mapEnd(dst), nil
}

func (e *encoder) list(dst []byte, v reflect.Value, k reflect.Kind, rnd int) ([]byte, error) {
	t := v.Type()
	if t.Name() != "" {
		if ti := typeInfoOf(t); ti.special != notSpecial {
			return e.special(dst, v, ti)
		}
	}
	et := t.Elem()
	if et.Kind() == reflect.Uint8 && (et == predeclared[reflect.Uint8] || typeInfoOf(et).special == notSpecial) {
		return e.byteList(dst, v, k), nil
	}
	n := v.Len()
	if k == reflect.Slice && n > 0 && mayContainItself(et.Kind()) {
		if !e.enter(visit{ptr: v.UnsafePointer(), len: n, typ: t}) {
			return dst, &CycleError{Type: t}
		}
		defer e.leave()
	}
	dst = e.syn.listStart(dst, n)
	if k := et.Kind(); isPlain(et, k) {
		for i := range n {
			dst = e.basic(e.syn.listItem(dst, i), v.Index(i), k, rnd-1)
		}
		return e.syn.listEnd(dst), nil
	}
	for i := range n {
		dst = e.syn.listItem(dst, i)
		var err error
		if dst, err = e.encode(dst, v.Index(i), rnd-1); err != nil {
			return dst, e.fail(err, "["+strconv.Itoa(i)+"]")
		}
	}
	return e.syn.listEnd(dst), nil
}

// isPlain reports whether t, of kind k, is a predeclared type such as int
// or string: its values have no methods and are encoded by kind.
func isPlain(t reflect.Type, k reflect.Kind) bool {
	return k <= reflect.String && predeclared[k] == t
}

// mayContainItself reports whether a slice with elements of kind k can hold
// a path back to itself.
func mayContainItself(k reflect.Kind) bool {
	switch k {
	case reflect.Interface, reflect.Pointer, reflect.Slice, reflect.Map, reflect.Struct, reflect.Array:
		return true
	}
	return false
}

// byteList appends a []byte, or any slice or array of a byte kind, as bytes.
func (e *encoder) byteList(dst []byte, v reflect.Value, k reflect.Kind) []byte {
	if k == reflect.Slice || v.CanAddr() {
		return e.syn.bytes(dst, v.Bytes())
	}
	w := e.work()
	w.scratch = w.scratch[:0]
	for i := range v.Len() {
		w.scratch = append(w.scratch, byte(v.Index(i).Uint()))
	}
	return e.syn.bytes(dst, w.scratch)
}

func (e *encoder) mapValue(dst []byte, v reflect.Value, rnd int) ([]byte, error) {
	t := v.Type()
	if t.Name() != "" {
		if ti := typeInfoOf(t); ti.special != notSpecial {
			return e.special(dst, v, ti)
		}
	}
	n := v.Len()
	if n == 0 {
		return e.syn.mapEnd(e.syn.mapStart(dst, 0)), nil
	}
	if !e.enter(visit{ptr: v.UnsafePointer(), typ: t}) {
		return dst, &CycleError{Type: t}
	}
	defer e.leave()

	// Encode the entries in iteration order, then sort them by their bytes:
	// by key, and by value for keys that encode alike (1 and 1.0, NaNs).
	if !v.CanInterface() && v.CanAddr() {
		v = expose(v)
	}
	var key, val reflect.Value
	settable := v.CanInterface()
	if settable {
		// Copies that SetIterKey and SetIterValue refill: one allocation
		// each per map, not per entry, and addressable.
		key = reflect.New(t.Key()).Elem()
		val = reflect.New(t.Elem()).Elem()
	}
	dst = e.syn.mapStart(dst, n)
	w := e.work()
	base, first := len(dst), len(w.spans)
	iter := v.MapRange()
	for iter.Next() {
		if settable {
			key.SetIterKey(iter)
			val.SetIterValue(iter)
		} else {
			key, val = iter.Key(), iter.Value()
		}
		start := len(dst)
		var err error
		if dst, err = e.encode(dst, key, -1); err != nil {
			return dst, e.fail(err, "[key]")
		}
		dst = e.syn.mapKey(dst, start)
		mid := len(dst)
		if dst, err = e.encode(dst, val, rnd-1); err != nil {
			return dst, e.fail(err, "["+keyText(key)+"]")
		}
		w.spans = append(w.spans, span{start - base, mid - base, len(dst) - base})
	}
	entries := w.spans[first:]
	body := dst[base:]
	slices.SortFunc(entries, func(a, b span) int {
		if c := bytes.Compare(body[a.key:a.val], body[b.key:b.val]); c != 0 {
			return c
		}
		return bytes.Compare(body[a.val:a.end], body[b.val:b.end])
	})
	w.tmp = append(w.tmp[:0], body...)
	dst = dst[:base]
	for i, s := range entries {
		dst = e.syn.mapEntry(dst, i)
		dst = append(dst, w.tmp[s.key:s.val]...)
		dst = e.syn.mapColon(dst)
		dst = append(dst, w.tmp[s.val:s.end]...)
	}
	w.spans = w.spans[:first]
	return e.syn.mapEnd(dst), nil
}

// keyText returns the canonical text of a map key, for error paths.
func keyText(key reflect.Value) string {
	e := &encoder{syn: textSyntax{}}
	b, err := e.encode(nil, key, -1)
	if err != nil {
		return "?"
	}
	return string(b)
}

// special appends a time, a time.Location or an encoding.TextMarshaler.
func (e *encoder) special(dst []byte, v reflect.Value, ti *typeInfo) ([]byte, error) {
	if e.typed {
		dst = e.syn.typed(dst, ti.name)
	}
	switch ti.special {
	case specialTime:
		t, err := timeOf(v)
		if err != nil {
			return dst, err
		}
		dst = e.syn.time(dst, t)
	case specialLocation:
		loc, err := locationOf(v)
		if err != nil {
			return dst, err
		}
		dst = e.syn.string(dst, loc.String())
	default:
		text, err := marshalText(v, ti.special == specialPtrText)
		if err == errNeedAddr {
			return dst, err
		}
		if err != nil {
			return dst, &MarshalerError{Type: v.Type(), Err: err}
		}
		dst = e.syn.string(dst, unsafeString(text))
	}
	if e.typed {
		dst = e.syn.typedEnd(dst)
	}
	return dst, nil
}

// timeOf returns the time.Time in v, whose type is time.Time or defined as
// time.Time.
func timeOf(v reflect.Value) (time.Time, error) {
	switch {
	case v.CanAddr():
		return *(*time.Time)(v.Addr().UnsafePointer()), nil
	case !v.CanInterface():
		return time.Time{}, errNeedAddr
	}
	return v.Convert(timeType).Interface().(time.Time), nil
}

func locationOf(v reflect.Value) (*time.Location, error) {
	switch {
	case v.CanAddr():
		return (*time.Location)(v.Addr().UnsafePointer()), nil
	case !v.CanInterface():
		return nil, errNeedAddr
	}
	loc := v.Interface().(time.Location)
	return &loc, nil
}

// marshalText calls the MarshalText method of v. ptrOnly says that only *T
// has one. A panic in MarshalText becomes an error.
func marshalText(v reflect.Value, ptrOnly bool) (text []byte, err error) {
	var m encoding.TextMarshaler
	switch {
	case v.CanAddr():
		m = expose(v).Addr().Interface().(encoding.TextMarshaler)
	case !v.CanInterface():
		return nil, errNeedAddr
	case ptrOnly:
		p := reflect.New(v.Type())
		p.Elem().Set(v)
		m = p.Interface().(encoding.TextMarshaler)
	default:
		m = v.Interface().(encoding.TextMarshaler)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("MarshalText panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return m.MarshalText()
}

// expose returns addressable v without the read-only mark of unexported
// fields, so that its methods can be called. The encoder only reads values.
func expose(v reflect.Value) reflect.Value {
	if v.CanInterface() {
		return v
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

// dynamic returns v, the value in an interface, as it is; in the second
// attempt, an addressable copy, so that its unexported fields can be exposed.
func (e *encoder) dynamic(v reflect.Value) reflect.Value {
	if !e.retry || !v.IsValid() || v.CanAddr() || !v.CanInterface() {
		return v
	}
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	return c
}

// shortPath is how many visits are searched linearly before a map is used.
const shortPath = 32

// enter records a visit on the current path. It reports false if the visit
// is already on it: the value contains itself.
func (e *encoder) enter(p visit) bool {
	if slices.Contains(e.near[:min(e.nvisits, nearVisits)], p) {
		return false
	}
	if e.nvisits < nearVisits {
		e.near[e.nvisits] = p
		e.nvisits++
		return true
	}
	w := e.work()
	if w.visited != nil {
		if _, ok := w.visited[p]; ok {
			return false
		}
		w.visited[p] = struct{}{}
	} else {
		if slices.Contains(w.visiting, p) {
			return false
		}
		if len(w.visiting) == shortPath {
			w.visited = make(map[visit]struct{}, 2*shortPath)
			for _, q := range w.visiting {
				w.visited[q] = struct{}{}
			}
			w.visited[p] = struct{}{}
		}
	}
	w.visiting = append(w.visiting, p)
	e.nvisits++
	return true
}

// leave removes the last visit from the current path.
func (e *encoder) leave() {
	e.nvisits--
	if e.nvisits < nearVisits {
		e.near[e.nvisits] = visit{}
		return
	}
	w := e.w
	last := len(w.visiting) - 1
	if w.visited != nil {
		delete(w.visited, w.visiting[last])
	}
	w.visiting[last] = visit{}
	w.visiting = w.visiting[:last]
}

// unsafeString returns b as a string for functions that only read it.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
