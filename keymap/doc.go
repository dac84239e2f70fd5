// Package keymap turns the arguments of a call into a deterministic [Key]:
// the same arguments give the same key in every process, on every machine
// and in every release that keeps [Version], so keys can be stored in
// databases and shared between services.
//
// It holds klepto's four keymaps: [NewString] (readable canonical text, the
// default of the SQL archives), [NewRaw] (the canonical binary encoding, for
// memory caches), [NewHash] (a hex digest of the binary encoding) and
// [NewEncoded] (a binary or JSON serialization meant to be read back, see
// [Decode]); [Chain] composes two of them. [Keymap.Key] returns the key of one
// call and [Keymap.AppendText] appends its text to a buffer. [Options] make
// keys typed or flat, leave arguments out and round floats. [Parse] makes a
// keymap from its description, [Keymap.String], as archives record it, and
// [Keymap.CheckText] says whether a text has the form of its keys.
//
// A [Keymap] is immutable and safe for concurrent use.
//
// The rest of this documentation is the specification of keys, version 1.
// Other implementations that share a database with this one must follow it
// byte for byte.
//
// # Arguments
//
// A memoized function takes one argument value, args, which [Keymap.Key]
// turns into a list of positional and named arguments:
//
//   - A struct, or a pointer to one (through any number of pointers), gives
//     one named argument per field, in declaration order. The name is the
//     field name, or the name in a klepto:"name" tag; the position is the
//     field index. Fields tagged klepto:"-" and blank (_) fields are left out.
//     Unexported fields are included, so struct{ n int } calls differ by n.
//     An embedded field is one argument named after its type; its fields
//     are not promoted. Names are made of Unicode letters, digits, '_' and
//     '-', and are unique within a struct (see [NameError]).
//   - An [Args], or a pointer to one, gives its Pos as positional arguments,
//     then its Named as named arguments sorted by name.
//   - A time.Time, an encoding.TextMarshaler, or any value of another kind,
//     including nil, is a single positional argument.
//
// Thus struct{ N int }{30} and Args{Named: map[string]any{"N": 30}} have one
// key, (N=30), as f(N=30) has one key in klepto however it is called.
//
// Options change the list before it is encoded. [Options.Flat] sorts named
// arguments by name (byte order). [Options.Ignore] (names) and
// [Options.IgnorePositions] (positions) leave arguments out: an ignored named
// argument is omitted, and an ignored positional one is written as _ so that
// the positions of the others stay put. Ignored values are never looked at:
// a field holding a logger or a func does not make the key fail.
//
// Rounding ([Options.Round], [Options.Tol]) replaces float values, in the key
// only, by round(x, Tol) as Python computes it: the exact binary value
// rounded to Tol decimal digits (tens, hundreds... for negative Tol), ties
// to even, then the nearest float64. So round(2.675, 2) is 2.67 (2.675 is
// stored below the tie), round(2.5, 0) is 2 and round(1250, -2) is 1200. A
// float32 is rounded as the float64 of equal value. Simple rounds floats that
// are arguments; Shallow also floats that are elements of an argument's
// slice or array, values of its map or fields of its struct; Deep rounds
// floats at any depth. Pointers and interfaces do not count as levels; map
// keys and complex numbers are never rounded. NaN and infinities stay as they
// are, and a result beyond the float64 range becomes an infinity.
//
// # Values
//
// Keys are defined on values, not on types. A pointer is encoded as the value
// it points to and an interface as the value it holds; nil pointers and nil
// interfaces are nil. A value that contains itself through pointers, maps or
// slices is an error ([CycleError]), as is one nested more than [MaxDepth]
// levels deep ([ErrTooDeep]). Funcs, channels and unsafe.Pointers, even nil
// ones, have no key ([UnsupportedTypeError]); leave them out with a tag or an
// option.
//
// Numbers are equal when their values are: int 1, uint8 1, float32 1 and
// float64 1.0 are one number. Floats are read exactly (a float32 as the
// float64 of the same value, so float32(0.1) is 0.10000000149011612); -0 is 0
// and all NaNs are one NaN. Complex numbers are equal when both parts are,
// and never equal to real numbers. Typed keymaps ([Options.Typed]) make the
// kind part of the number: int(1), uint(1) and float64(1) differ, and so do
// float32(0.5) and float64(0.5). Kinds, not named types: a type Celsius
// float64 is float64. Bools are not numbers.
//
// A slice or an array of a byte kind (uint8) holds bytes, which differ from
// strings and from lists of numbers. A nil slice is the empty slice, and a
// nil map is the empty map; a struct is a map from field names to values, so
// an empty struct is the empty map. A map is the set of its entries: its
// order comes from the encoded keys (see below), not from Go's iteration.
//
// A time.Time (or a type defined as time.Time) is its instant: the location
// and the monotonic clock reading are dropped, and times are written in UTC
// with nanoseconds. A time.Location is its name. A value whose type T, or
// *T, implements encoding.TextMarshaler is the string MarshalText returns:
// untyped, it is equal to that string; typed, it carries the type's name as
// reflect.Type.String writes it (package name and type name). Errors and
// panics of MarshalText are returned as [MarshalerError]. MarshalText must be
// deterministic. As with encoding/json, a struct that embeds a TextMarshaler
// (such as time.Time) gains its method and is keyed by that text alone.
// Unexported fields of these types are read through their address.
//
// Values with hidden state (a sync.Mutex, a cache, a file) are encoded like
// any struct, field by field; tag them klepto:"-".
//
// # Canonical text
//
// The String keymap writes the argument list as "(" items joined by ", "
// ")". A positional item is its value, an ignored positional item is _ and a
// named item is name=value. Values are written as follows; the typed column
// applies to typed keymaps only.
//
//	value                 text                              typed
//	nil                   nil
//	bool                  true, false
//	integer               -12, 18446744073709551615         int(-12), uint8(7), uintptr(1)
//	float                 2.5, 1e+21, 1.5e-07, 3, NaN,      float64(2.5), float32(0.1),
//	                      +Inf, -Inf                        float64(3)
//	complex               (1+2i), (0-1.5i), (1+NaNi)        complex128(1+2i), complex64(1-Infi)
//	string                "a\tb", "\xff"
//	bytes                 b"\x00a"
//	time                  t"2026-11-27T07:32:56.123456789Z" time.Time(t"2026-11-27T07:32:56.123456789Z")
//	time.Location         "Europe/Paris"                    time.Location("Europe/Paris")
//	TextMarshaler         "10.0.0.1"                        netip.Addr("10.0.0.1")
//	slice, array          [1, "a"], []
//	map                   {"a": 1, "b": 2}, {}
//	struct                {A=1, b="x"}, {}
//
// Integers are decimal. Untyped, a float with an integer value is written as
// that integer (exactly, with all its digits) when its magnitude is below
// 1e21: 1.0 is 1 and 2^63 is 9223372036854775808. Other floats use
// strconv.FormatFloat(f, 'g', -1, 64), the shortest text that reads back to
// f; typed float32 values use bit size 32 instead. A complex number writes
// both parts that way, the imaginary one always with its sign. Strings and
// bytes are quoted by strconv.Quote, which escapes invalid UTF-8 and control
// characters (bytes are prefixed by b); the text is thus valid UTF-8 even for
// binary arguments. Times use the layout 2006-01-02T15:04:05.000000000Z07:00
// in UTC. Typed times, locations and TextMarshalers are name(value), where
// value is the untyped form. List items are joined by ", " inside [ ]. Map
// entries are key: value, joined by ", " inside { }, sorted by the bytes of
// the key's text, and for equal keys (1 and 1.0, two NaNs) by the bytes of
// the value's text. Struct fields are name=value in declaration order. The
// text is injective: different arguments (under the equivalences above)
// give different texts.
//
// # Canonical binary encoding
//
// The Raw, Hash and Encoded(Binary) keymaps use a compact, tagged,
// length-prefixed encoding with the same values, options and equivalences.
// A uvarint is an unsigned LEB128 number (7 bits a byte, least significant
// first, high bit set on all bytes but the last; encoding/binary's
// AppendUvarint), and a varint the uvarint of the zigzag form (n<<1)^(n>>63)
// (AppendVarint). The key is
//
//	key   = 0x01 (Version)  uvarint(count)  item*count
//	item  = value  |  'A' name value  |  '_'      positional, named, ignored
//	name  = uvarint(length) bytes                 UTF-8
//
// and values are one tag byte (ASCII) and a payload:
//
//	'N'                         nil
//	'F', 'T'                    false, true
//	'I' varint                  untyped integer in the int64 range
//	'U' uvarint                 untyped integer above math.MaxInt64
//	'D' f64                     untyped float that is not an integer in the int64 or uint64 range
//	'C' f64 f64                 untyped complex: real part, imaginary part
//	'K' kind payload            typed number (below)
//	'S' uvarint(length) bytes   string; text of a TextMarshaler; name of a time.Location
//	'B' uvarint(length) bytes   bytes
//	'Z' uvarint(length) bytes   time: the RFC 3339 text of the canonical text form
//	'Y' name value              typed time, time.Location or TextMarshaler: type name, untyped value
//	'L' uvarint(count) value*   slice or array
//	'M' uvarint(count) entry*   map: entry = value value (key, value), sorted by the
//	                            bytes of the key, then of the value;
//	                            struct: entry = 'A' name value, in declaration order
//
// Untyped integers and floats with integer values share 'I' and 'U', so 1,
// uint(1) and 1.0 are all 'I' 0x02. An f64 is the 8 bytes of the IEEE 754
// binary64, big-endian; an f32 the 4 bytes of binary32. -0 is written as 0
// and every NaN as 0x7FF8000000000000 (f64) or 0x7FC00000 (f32). A typed
// number is 'K', the reflect.Kind value of its kind as one byte, and the
// payload: varint for int 0x02, int8 0x03, int16 0x04, int32 0x05 and int64
// 0x06; uvarint for uint 0x07, uint8 0x08, uint16 0x09, uint32 0x0a, uint64
// 0x0b and uintptr 0x0c; f32 for float32 0x0d; f64 for float64 0x0e; f32 f32
// for complex64 0x0f; f64 f64 for complex128 0x10. For example,
// struct{ N int }{30} is 01 01 41 01 4e 49 3c, and, typed, 01 01 41 01 4e 4b
// 02 3c.
//
// # Hash, JSON and chains
//
// The Hash keymap writes the lowercase hex digest of the binary encoding:
// MD5, SHA-1, SHA-256 and SHA-512 as usual, FNV (64-bit FNV-1a) and XXH3
// (64-bit, seed 0) as their 64-bit value big-endian, 16 hex digits.
//
// The Encoded(JSON) keymap writes a JSON document with the same values,
// options and order as the canonical text: the argument list is an array of
// the positional arguments when there are no named ones ([30]), an object of
// the named ones when there are no positional ones ({"N":30}; {} for no
// arguments), and {"pos":[...],"named":{...}} otherwise; ignored positional
// arguments are null. Numbers are written as in the canonical text, except
// NaN, +Inf and -Inf, which are strings. Bytes are base64 strings (standard
// alphabet, padded), times and TextMarshalers strings, complex numbers the
// string of their text, lists arrays, and maps and structs objects; a map key
// that is not a string is the string of its JSON (1 becomes "1"), and entries
// are sorted by the bytes of the JSON key, then of the value. Strings escape
// the quote, the backslash and control characters, and replace invalid UTF-8
// by U+FFFD. Typed numbers,
// times, locations and TextMarshalers are objects of one member, {"int":1} or
// {"time.Time":"2026-11-27T07:32:56.123456789Z"}. JSON is meant for reading
// and is lossy: unlike the text and the binary encoding, it does not tell
// strings from bytes, times, NaN or map keys, nor invalid UTF-8 from U+FFFD.
//
// [Chain](inner, outer) gives outer's key of one positional string
// argument, inner's key text: a chain of Encoded(JSON) and Hash(SHA256) is
// the digest of the binary encoding of ("<the JSON>").
//
// [Key.Hash] is the SHA-256 digest of [Key.Text] for every keymap.
//
// # Differences from Python klepto
//
// Keys are deterministic across processes: klepto's default keymap uses
// Python's hash(), which differs per process, so its persistent archives
// never hit after a restart. Named arguments are in declaration order, or
// sorted with Flat, but never in the order of a call. Bools are not numbers
// (in Python True == 1). Ignored named arguments are omitted rather than set
// to NULL, and ignored positional ones are written _. Keys do not depend on
// Python's repr, so the String keymap's text is defined here rather than by
// a language runtime.
package keymap
