package keymap

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Kind says which of the four keymaps a [Keymap] is.
type Kind uint8

// The four keymaps, after klepto's stringmap, keymap, hashmap and picklemap.
const (
	KindString  Kind = iota // readable canonical text; see NewString
	KindRaw                 // canonical binary encoding; see NewRaw
	KindHash                // hex digest of the binary encoding; see NewHash
	KindEncoded             // a serialization meant to be decoded; see NewEncoded
)

var kindNames = [...]string{KindString: "string", KindRaw: "raw", KindHash: "hash", KindEncoded: "encoded"}

// String returns "string", "raw", "hash" or "encoded".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Encoding is a serialization of the Encoded keymap (see [NewEncoded]).
type Encoding uint8

// Encodings.
const (
	Binary Encoding = iota // the canonical binary encoding, readable back with Decode
	JSON                   // JSON, for people and SQL JSON functions
)

var encodingNames = [...]string{Binary: "binary", JSON: "json"}

// String returns "binary" or "json".
func (e Encoding) String() string {
	if int(e) < len(encodingNames) {
		return encodingNames[e]
	}
	return "Encoding(" + strconv.Itoa(int(e)) + ")"
}

// ParseEncoding returns the Encoding whose String is s.
func ParseEncoding(s string) (Encoding, error) {
	if i := slices.Index(encodingNames[:], s); i >= 0 {
		return Encoding(i), nil
	}
	return 0, fmt.Errorf("%w: unknown encoding %q", ErrInvalidOptions, s)
}

// Keymap turns the arguments of a call into a [Key]. A Keymap is immutable
// and safe for concurrent use; make one per memoized function or archive and
// keep it.
type Keymap struct {
	kind  Kind
	alg   Algorithm // KindHash
	opts  Options   // validated; Ignore and IgnorePositions sorted, without duplicates
	syn   syntax
	round int      // opts.Round.levels()
	desc  string   // String
	plans sync.Map // reflect.Type -> *argPlan of an argument struct

	// lastPlan is the plan used last: most keymaps serve one function, so
	// most calls find their plan here without hashing.
	lastPlan atomic.Pointer[argPlan]

	// chain holds the stages of a keymap made by Chain, first stage first;
	// the fields above are unused then.
	chain []*Keymap
}

// NewString returns the String keymap: [Key.Text] is the canonical text of
// the arguments, such as (n=30) or (1, "a", 2.5). It is lossless and
// readable, the default of the SQL archives. opts may be nil.
func NewString(opts *Options) (*Keymap, error) {
	return newKeymap(KindString, "string", textSyntax{}, opts)
}

// NewRaw returns the Raw keymap: [Key.Text] is the canonical binary encoding
// of the arguments. It is lossless, compact and the fastest, meant for memory
// caches. opts may be nil.
func NewRaw(opts *Options) (*Keymap, error) {
	return newKeymap(KindRaw, "raw", binarySyntax{}, opts)
}

// NewHash returns the Hash keymap: [Key.Text] is the lowercase hex digest,
// under alg, of the canonical binary encoding of the arguments. opts may be
// nil.
func NewHash(alg Algorithm, opts *Options) (*Keymap, error) {
	if int(alg) >= len(algorithmNames) {
		return nil, fmt.Errorf("%w: unknown algorithm %d", ErrInvalidOptions, alg)
	}
	k, err := newKeymap(KindHash, "hash("+alg.String()+")", binarySyntax{}, opts)
	if err != nil {
		return nil, err
	}
	k.alg = alg
	return k, nil
}

// NewEncoded returns the Encoded keymap: [Key.Text] is a serialization of the
// arguments meant to be read back. With Binary it holds the same bytes as
// the Raw keymap, stated as a format to store and [Decode]; with JSON it is
// the JSON form described in the package documentation. opts may be nil.
func NewEncoded(enc Encoding, opts *Options) (*Keymap, error) {
	var syn syntax
	switch enc {
	case Binary:
		syn = binarySyntax{}
	case JSON:
		syn = jsonSyntax{}
	default:
		return nil, fmt.Errorf("%w: unknown encoding %d", ErrInvalidOptions, enc)
	}
	return newKeymap(KindEncoded, "encoded("+enc.String()+")", syn, opts)
}

// newKeymap returns a keymap of kind, described as name and its options.
func newKeymap(kind Kind, name string, syn syntax, opts *Options) (*Keymap, error) {
	k := &Keymap{kind: kind, syn: syn}
	if opts != nil {
		if err := opts.validate(); err != nil {
			return nil, err
		}
		k.opts = *opts
		k.opts.Ignore = slices.Compact(slices.Sorted(slices.Values(opts.Ignore)))
		k.opts.IgnorePositions = slices.Compact(slices.Sorted(slices.Values(opts.IgnorePositions)))
	}
	k.round = k.opts.Round.levels()
	var b strings.Builder
	b.WriteString(name)
	k.opts.describe(&b)
	k.desc = b.String()
	return k, nil
}

// Chain returns the keymap whose key of args is outer's key of a single
// string argument, inner's key text of args: Chain(inner, outer).Key(x)
// equals outer.Key(inner.Key(x).Text). This is klepto's inner + outer, as in
// Chain(json, sha256) for a digest of the JSON form. Options of inner apply
// to the arguments; options of outer to the one string argument.
func Chain(inner, outer *Keymap) (*Keymap, error) {
	if inner == nil || outer == nil {
		return nil, errors.New("keymap: nil keymap in Chain")
	}
	return &Keymap{chain: slices.Concat(inner.stages(), outer.stages())}, nil
}

func (k *Keymap) stages() []*Keymap {
	if k.chain != nil {
		return k.chain
	}
	return []*Keymap{k}
}

// Key returns the key of args, the arguments of one call: a struct (or a
// pointer to one) whose fields are the named arguments, an [Args], or any
// other value as the single argument. The package documentation says which
// arguments give which key. Key returns an [*UnsupportedTypeError], a
// [*CycleError], a [*MarshalerError], a [*NameError] or [ErrTooDeep] for
// arguments that have no key.
func (k *Keymap) Key(args any) (Key, error) {
	var e encoder
	defer e.release()
	w := e.work()
	b, err := k.appendKey(w.out[:0], &e, args)
	if err != nil {
		return Key{}, err
	}
	w.out = b
	return Key{Text: string(b), Hash: sha256.Sum256(b)}, nil
}

// AppendText appends the key text of args, [Key.Text] of k.Key(args), to dst
// and returns the extended buffer. With a dst of sufficient capacity it does
// not allocate for arguments made of numbers, strings, bools and structs of
// them. On error it returns dst unchanged and the error Key would return.
func (k *Keymap) AppendText(dst []byte, args any) ([]byte, error) {
	var e encoder
	defer e.release()
	n := len(dst)
	dst, err := k.appendKey(dst, &e, args)
	if err != nil {
		return dst[:n], err
	}
	return dst, nil
}

func (k *Keymap) appendKey(dst []byte, e *encoder, args any) ([]byte, error) {
	if k.chain == nil {
		return k.appendStage(dst, e, args, nil, false)
	}
	// Stages write alternately into two buffers of e, the last one into dst.
	last := len(k.chain) - 1
	w := e.work()
	var text []byte
	for i, s := range k.chain[:last] {
		b, err := s.appendStage(w.stage[i%2][:0], e, args, text, i > 0)
		w.stage[i%2] = b
		if err != nil {
			return dst, err
		}
		text = b
	}
	return k.chain[last].appendStage(dst, e, args, text, true)
}

// appendStage appends k's key of args, or of the single string argument text
// when chained.
func (k *Keymap) appendStage(dst []byte, e *encoder, args any, text []byte, chained bool) ([]byte, error) {
	e.use(k)
	if k.kind != KindHash {
		return e.encodeArgs(dst, k, args, text, chained)
	}
	w := e.work()
	b, err := e.encodeArgs(w.hashIn[:0], k, args, text, chained)
	w.hashIn = b
	if err != nil {
		return dst, err
	}
	return k.alg.appendDigest(dst, b), nil
}

// Kind returns the kind of k; for a chain, the kind of its outer keymap.
func (k *Keymap) Kind() Kind {
	if k.chain != nil {
		return k.chain[len(k.chain)-1].kind
	}
	return k.kind
}

// String describes k by its kind, algorithm or encoding, and the options that
// change keys, such as "string", "hash(md5)",
// "string typed flat round=deep/2 ignore=[Log #1]" or, for a chain,
// "encoded(json)+hash(sha256)". Two keymaps with the same String give the
// same keys: archives record it to refuse keys made another way.
func (k *Keymap) String() string {
	if k.chain == nil {
		return k.desc
	}
	descs := make([]string, len(k.chain))
	for i, s := range k.chain {
		descs[i] = s.desc
	}
	return strings.Join(descs, "+")
}

// Ignored returns the argument names and positions that k leaves out of
// keys (Options.Ignore and Options.IgnorePositions), sorted; fields tagged
// klepto:"-" are not listed. For a chain it reports the innermost keymap,
// the one that sees the arguments.
func (k *Keymap) Ignored() (names []string, positions []int) {
	if k.chain != nil {
		return k.chain[0].Ignored()
	}
	return slices.Clone(k.opts.Ignore), slices.Clone(k.opts.IgnorePositions)
}

func (k *Keymap) ignoresName(name string) bool {
	if len(k.opts.Ignore) == 0 {
		return false
	}
	_, found := slices.BinarySearch(k.opts.Ignore, name)
	return found
}

func (k *Keymap) ignoresPos(i int) bool {
	if len(k.opts.IgnorePositions) == 0 {
		return false
	}
	_, found := slices.BinarySearch(k.opts.IgnorePositions, i)
	return found
}
