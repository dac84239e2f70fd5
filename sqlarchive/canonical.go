package sqlarchive

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// canonicalJSON returns the JSON document doc written canonically: without
// insignificant space, object members sorted by name (the last of
// duplicates kept), strings escaped as encoding/json escapes them, and
// numbers as canonicalNumber writes them. JSON that databases normalize
// otherwise (PostgreSQL's JSONB orders members by length and writes
// 1e-7 as 0.0000001) thus reads the same from every database. Nil stays
// nil.
func canonicalJSON(doc []byte) ([]byte, error) {
	if doc == nil {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, canonicalNumbers(v)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// canonicalNumbers returns v, decoded with UseNumber, with its numbers
// rewritten by canonicalNumber.
func canonicalNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		return json.Number(canonicalNumber(string(v)))
	case []any:
		for i := range v {
			v[i] = canonicalNumbers(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = canonicalNumbers(v[k])
		}
	}
	return v
}

// canonicalNumber returns the JSON number num written in one way for each
// value: the shortest exact decimal form, as JavaScript and encoding/json
// write float64 values, plain from 1e-6 to below 1e21 and with an
// exponent outside (1.5e-7, 1e+21), with no trailing zeros (2.50 is 2.5),
// and -0 as 0. Its value is num's exactly, however many digits it has.
func canonicalNumber(num string) string {
	s := num
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mantissa, expText, hasExp := strings.Cut(strings.ToLower(s), "e")
	exp := 0
	if hasExp {
		e, err := strconv.Atoi(expText)
		if err != nil || e > 1e9 || e < -1e9 {
			return num // an exponent out of range: left as it is
		}
		exp = e
	}
	intPart, frac, _ := strings.Cut(mantissa, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	// The value is 0.digits × 10^n.
	n := len(intPart) - (len(intPart+frac) - len(digits)) + exp
	digits = strings.TrimRight(digits, "0")
	if digits == "" {
		return "0"
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	k := len(digits)
	switch {
	case k <= n && n <= 21:
		b.WriteString(digits + strings.Repeat("0", n-k))
	case 0 < n && n <= 21:
		b.WriteString(digits[:n] + "." + digits[n:])
	case -6 < n && n <= 0:
		b.WriteString("0." + strings.Repeat("0", -n) + digits)
	default:
		b.WriteString(digits[:1])
		if k > 1 {
			b.WriteString("." + digits[1:])
		}
		b.WriteString("e")
		if n-1 >= 0 {
			b.WriteString("+")
		}
		b.WriteString(strconv.Itoa(n - 1))
	}
	return b.String()
}
