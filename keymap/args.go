package keymap

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Args holds the arguments of a call whose shape is known only at run time,
// such as a call typed on a command line: Pos are the positional arguments
// and Named the named ones. Args{Named: map[string]any{"n": 30}} has the same
// key as struct{ n int }{30}. An Args is read, never modified.
type Args struct {
	Pos   []any
	Named map[string]any
}

// argPlan is how a Keymap encodes an argument struct type.
type argPlan struct {
	typ    reflect.Type
	args   bool    // the struct is an Args
	single bool    // the struct is a single value (a time or a TextMarshaler)
	fields []field // the named arguments, in key order, without ignored ones
	err    error
}

func (k *Keymap) planOf(t reflect.Type) *argPlan {
	if p := k.lastPlan.Load(); p != nil && p.typ == t {
		return p
	}
	var p *argPlan
	if cached, ok := k.plans.Load(t); ok {
		p = cached.(*argPlan)
	} else {
		p = k.newPlan(t)
		cached, _ = k.plans.LoadOrStore(t, p)
		p = cached.(*argPlan)
	}
	k.lastPlan.Store(p)
	return p
}

func (k *Keymap) newPlan(t reflect.Type) *argPlan {
	ti := typeInfoOf(t)
	p := &argPlan{typ: t, args: t == argsType, single: ti.special != notSpecial, err: ti.err}
	for _, f := range ti.fields {
		if !k.ignoresName(f.name) && !k.ignoresPos(f.index) {
			p.fields = append(p.fields, f)
		}
	}
	if k.opts.Flat {
		slices.SortFunc(p.fields, func(a, b field) int { return strings.Compare(a.name, b.name) })
	}
	return p
}

// encodeArgs appends the argument list of args, or of the single string
// argument text when chained. On error it fills in the error's path.
func (e *encoder) encodeArgs(dst []byte, k *Keymap, args any, text []byte, chained bool) ([]byte, error) {
	if chained {
		return e.stringArg(dst, k, text), nil
	}
	n := len(dst)
	out, err := e.args(dst, k, args)
	if err != nil && errors.Is(err, errNeedAddr) {
		e.reset() // the failed attempt left its path behind
		e.retry = true
		out, err = e.args(dst[:n], k, args)
	}
	if err != nil {
		err = e.finish(err)
		e.reset()
		return dst[:n], err
	}
	e.retry = false
	return out, nil
}

func (e *encoder) args(dst []byte, k *Keymap, args any) ([]byte, error) {
	switch a := args.(type) {
	case Args:
		return e.argList(dst, k, a.Pos, a.Named)
	case *Args:
		if a != nil {
			return e.argList(dst, k, a.Pos, a.Named)
		}
	}
	// Look through pointers for an argument struct, keeping them on the
	// path like encode does.
	v := reflect.ValueOf(args)
	for v.Kind() == reflect.Pointer && !v.IsNil() && e.depth < MaxDepth {
		if !e.enter(visit{ptr: v.UnsafePointer(), typ: v.Type()}) {
			break // singleArg reports the cycle
		}
		e.depth++
		v = v.Elem()
	}
	dst, err := e.value(dst, k, v)
	if err == nil {
		for ; e.depth > 0; e.depth-- {
			e.leave()
		}
	}
	return dst, err
}

// value appends the arguments of v, which is not a pointer unless nil or
// too deep.
func (e *encoder) value(dst []byte, k *Keymap, v reflect.Value) ([]byte, error) {
	if v.Kind() == reflect.Struct {
		switch p := k.planOf(v.Type()); {
		case p.args:
			a := v.Interface().(Args)
			return e.argList(dst, k, a.Pos, a.Named)
		case p.err != nil:
			return dst, p.err
		case !p.single:
			return e.structArgs(dst, k, e.dynamic(v), p)
		}
	}
	return e.singleArg(dst, k, e.dynamic(v))
}

// structArgs appends the arguments of an argument struct: its fields, named.
func (e *encoder) structArgs(dst []byte, k *Keymap, v reflect.Value, p *argPlan) ([]byte, error) {
	n := len(p.fields)
	dst = e.syn.argsStart(dst, 0, n)
	for j, f := range p.fields {
		dst = e.syn.argNamed(dst, 0, j, f.name)
		if f.plain {
			dst = e.basic(dst, v.Field(f.index), f.kind, k.round)
			continue
		}
		var err error
		if dst, err = e.encode(dst, v.Field(f.index), k.round); err != nil {
			return dst, e.fail(err, "."+f.name)
		}
	}
	return e.syn.argsEnd(dst, 0, n), nil
}

// argList appends the arguments of an Args: positional ones, then named ones
// sorted by name.
func (e *encoder) argList(dst []byte, k *Keymap, pos []any, named map[string]any) ([]byte, error) {
	w := e.work()
	names := w.names[:0]
	for name := range named {
		if !validName(name) {
			return dst, &NameError{Name: name}
		}
		if !k.ignoresName(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	w.names = names

	npos, nnamed := len(pos), len(names)
	dst = e.syn.argsStart(dst, npos, nnamed)
	for i, p := range pos {
		if k.ignoresPos(i) {
			dst = e.syn.argIgnored(dst, i)
			continue
		}
		dst = e.syn.argPos(dst, i)
		var err error
		if dst, err = e.encode(dst, e.dynamic(reflect.ValueOf(p)), k.round); err != nil {
			return dst, e.fail(err, "["+strconv.Itoa(i)+"]")
		}
	}
	for j, name := range names {
		dst = e.syn.argNamed(dst, npos, j, name)
		var err error
		if dst, err = e.encode(dst, e.dynamic(reflect.ValueOf(named[name])), k.round); err != nil {
			return dst, e.fail(err, "."+name)
		}
	}
	return e.syn.argsEnd(dst, npos, nnamed), nil
}

// singleArg appends a list of one positional argument, v.
func (e *encoder) singleArg(dst []byte, k *Keymap, v reflect.Value) ([]byte, error) {
	dst = e.syn.argsStart(dst, 1, 0)
	if k.ignoresPos(0) {
		dst = e.syn.argIgnored(dst, 0)
	} else {
		dst = e.syn.argPos(dst, 0)
		var err error
		if dst, err = e.encode(dst, v, k.round); err != nil {
			return dst, e.fail(err, "[0]")
		}
	}
	return e.syn.argsEnd(dst, 1, 0), nil
}

// stringArg appends a list of one positional string argument: the text of
// the previous stage of a chain.
func (e *encoder) stringArg(dst []byte, k *Keymap, s []byte) []byte {
	dst = e.syn.argsStart(dst, 1, 0)
	if k.ignoresPos(0) {
		dst = e.syn.argIgnored(dst, 0)
	} else {
		dst = e.syn.string(e.syn.argPos(dst, 0), unsafeString(s))
	}
	return e.syn.argsEnd(dst, 1, 0)
}
