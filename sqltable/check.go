package sqltable

// CheckValue returns nil if the Table can store value, and otherwise the
// error of encoding it, as Put would return it: one matching
// codec.ErrEncode for NaN or an infinity with the JSON codec, for example.
// It touches no database. A write-back memo of package cache calls it
// (see cache.ValueChecker).
func (t *Table[V]) CheckValue(value V) error {
	if _, _, err := t.encode(value); err != nil {
		return t.errorf("check value: %w", err)
	}
	return nil
}
