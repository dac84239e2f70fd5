package sqltable

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/klepto-sql/klepto/codec"
)

// On PostgreSQL, the multi-row writes of CopyTo and imports send each
// column as one array, in the text form of PostgreSQL arrays, and insert
// the rows of unnest($1::text::bytea[], …): a statement of a handful of
// parameters whatever the number of rows, which the server parses and
// plans much faster than a VALUES list of thousands of parameters. Every
// parameter is text, so any driver binds it alike. (PutMany sends VALUES,
// or small JSON values as one JSON array: see Table.pgArrays.)

// pgBatchRows is the most rows one PostgreSQL statement of arrays writes.
const pgBatchRows = 1000

// pgBatchBytes bounds the size of the arrays of one PostgreSQL statement.
const pgBatchBytes = 32 << 20

// pgUpsert returns the unnest upsert of CopyTo and imports (batchCopy), or
// with fresh its insert of the keys not present. It takes an array per
// column of copyColumns. The value and args arrays are of the columns'
// types, so that a json column, which tables made by other tools may have,
// keeps the text as sent, as Put keeps it: jsonbValue and jsonbArgs say
// whether they are jsonb.
func (q *queries) pgUpsert(vc codec.Codec, jsonbValue, jsonbArgs bool, fresh bool) string {
	d := q.d
	c := d.QuoteIdent
	jsonType := func(jsonb bool) string {
		if jsonb {
			return "jsonb"
		}
		return "json"
	}
	value, args := jsonType(jsonbValue), jsonType(jsonbArgs)
	if vc.Binary() {
		value = "bytea"
	}
	cols := c("key_hash") + ", " + c("key_text") + ", " + c("args") + ", " + c("value") + ", " + c("size_bytes") + ", " +
		c("created_at") + ", " + c("updated_at") + ", " + c("expires_at")
	sel := "h, k, a, v, s, ca, ua, ea"
	from := "unnest($1::text::bytea[], $2::text::text[], $3::text::" + args + "[], $4::text::" + value + "[], $5::text::int8[], " +
		"$6::text::timestamptz[], $7::text::timestamptz[], $8::text::timestamptz[]) AS r(h, k, a, v, s, ca, ua, ea)"
	update := putArgsUpdate
	var set strings.Builder
	for i, u := range update {
		if i > 0 {
			set.WriteString(", ")
		}
		set.WriteString(c(u) + " = EXCLUDED." + c(u))
	}
	insert := "INSERT INTO " + c(q.table) + " (" + cols + ") SELECT " + sel + " FROM " + from +
		" ORDER BY h ON CONFLICT (" + c("key_hash") + ") DO "
	if fresh {
		return insert + "NOTHING"
	}
	return insert + "UPDATE SET " + set.String()
}

// pgArray builds the text form of a one-dimensional PostgreSQL array.
type pgArray struct{ b []byte }

func (a *pgArray) sep() {
	if len(a.b) == 0 {
		a.b = append(a.b, '{')
	} else {
		a.b = append(a.b, ',')
	}
}

// null appends a NULL element.
func (a *pgArray) null() {
	a.sep()
	a.b = append(a.b, "NULL"...)
}

// text appends a quoted element: only '"' and '\' need escaping.
func (a *pgArray) text(s string) {
	a.sep()
	a.b = append(a.b, '"')
	for {
		i := strings.IndexAny(s, `"\`)
		if i < 0 {
			break
		}
		a.b = append(a.b, s[:i]...)
		a.b = append(a.b, '\\', s[i])
		s = s[i+1:]
	}
	a.b = append(a.b, s...)
	a.b = append(a.b, '"')
}

// bytes appends a bytea element in hex: "\\x…" (the backslash escaped).
func (a *pgArray) bytes(p []byte) {
	a.sep()
	a.b = append(a.b, `"\\x`...)
	a.b = hex.AppendEncode(a.b, p)
	a.b = append(a.b, '"')
}

// int appends an integer element.
func (a *pgArray) int(n int64) {
	a.sep()
	a.b = strconv.AppendInt(a.b, n, 10)
}

// value appends an element of a value or args column: a JSON string or
// bytes, or NULL.
func (a *pgArray) value(v any) {
	switch v := v.(type) {
	case string:
		a.text(v)
	case []byte:
		a.bytes(v)
	default:
		a.null()
	}
}

// time appends a timestamptz element; nil (a zero time) is NULL.
func (a *pgArray) time(v any) {
	t, ok := v.(time.Time)
	if !ok {
		a.null()
		return
	}
	a.sep()
	a.b = append(a.b, '"')
	a.b = t.UTC().AppendFormat(a.b, "2006-01-02T15:04:05.999999Z07:00")
	a.b = append(a.b, '"')
}

// String returns the array.
func (a *pgArray) String() string {
	if len(a.b) == 0 {
		return "{}"
	}
	return string(append(a.b, '}'))
}

// pgArgs appends the arguments of pgUpsert for rows.
func pgArgs(args []any, rows []row) []any {
	cols := make([]pgArray, len(copyColumns))
	for i := range rows {
		r := &rows[i]
		cols[0].bytes(r.hash)
		cols[1].text(r.text)
		cols[2].value(r.args)
		cols[3].value(r.value)
		cols[4].int(r.size)
		cols[5].time(r.created)
		cols[6].time(r.updated)
		cols[7].time(r.expires)
	}
	for i := range cols {
		args = append(args, cols[i].String())
	}
	return args
}

// pgJSONUpsert returns PutMany's upsert of small JSON values on
// PostgreSQL (batchPutJSON), or with fresh its insert of the keys not
// present: one statement whatever the number of rows, whose arguments are
// $1 the rows as a JSON array of objects {"h": key_hash in hex, "k":
// key_text, "v": value, "s": size_bytes} (see pgJSONArgs), then $2 the time
// written and $3 expires_at. The values go into the array as they are,
// since each is one JSON value, and come out as the JSONB a jsonb column
// would have parsed from them alone (a json column keeps the text as sent,
// so Table.putKind sends it VALUES). The rows are written in the order of
// the array, which is the order of their key hashes.
func (q *queries) pgJSONUpsert(fresh bool) string {
	c := q.d.QuoteIdent
	var set strings.Builder
	for i, u := range putUpdate {
		if i > 0 {
			set.WriteString(", ")
		}
		set.WriteString(c(u) + " = EXCLUDED." + c(u))
	}
	insert := "INSERT INTO " + c(q.table) + " (" + c("key_hash") + ", " + c("key_text") + ", " + c("value") + ", " +
		c("size_bytes") + ", " + c("created_at") + ", " + c("updated_at") + ", " + c("expires_at") + ")" +
		" SELECT decode(r.e->>'h', 'hex'), r.e->>'k', r.e->'v', (r.e->>'s')::int8, $2::timestamptz, $2::timestamptz, $3::timestamptz" +
		" FROM jsonb_array_elements($1::text::jsonb) WITH ORDINALITY AS r(e, i) ORDER BY r.i" +
		" ON CONFLICT (" + c("key_hash") + ") DO "
	if fresh {
		return insert + "NOTHING"
	}
	return insert + "UPDATE SET " + set.String()
}

// pgJSONArgs appends the arguments of pgJSONUpsert for rows, whose values
// are JSON strings.
func pgJSONArgs(args []any, rows []row) []any {
	n := 2
	for i := range rows {
		n += len(rows[i].hash)*2 + len(rows[i].text) + int(rows[i].size) + 40
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i := range rows {
		r := &rows[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"h":"`...)
		b = hex.AppendEncode(b, r.hash)
		b = append(b, `","k":`...)
		b = appendJSONString(b, r.text)
		b = append(b, `,"v":`...)
		v, _ := r.value.(string) // JSON, checked by Table.encode
		b = append(b, v...)
		b = append(b, `,"s":`...)
		b = strconv.AppendInt(b, r.size, 10)
		b = append(b, '}')
	}
	b = append(b, ']')
	args = append(args, string(b))
	if len(rows) > 0 {
		args = append(args, rows[0].created, rows[0].expires)
	}
	return args
}

// appendJSONString appends s, valid UTF-8, as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
