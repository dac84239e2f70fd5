package archive

import "github.com/klepto-sql/klepto/codec"

// CheckValue returns nil if the File can store value, and otherwise the
// error, matching codec.ErrEncode, of encoding it: NaN with the JSON
// codec, for example. It writes nothing. A write-back memo of package
// cache calls it (see cache.ValueChecker).
func (a *File[V]) CheckValue(value V) error {
	return checkValue(a.codec, value)
}

// CheckValue returns nil if the Dir can store value, and otherwise the
// error, matching codec.ErrEncode, of encoding it: NaN with the JSON
// codec, for example. It writes nothing. A write-back memo of package
// cache calls it (see cache.ValueChecker).
func (d *Dir[V]) CheckValue(value V) error {
	return checkValue(d.codec, value)
}

func checkValue[V any](c codec.Codec, value V) error {
	if _, err := codec.Encode(c, value); err != nil {
		return opError("check value", err)
	}
	return nil
}
