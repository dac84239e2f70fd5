package sqlarchive

import "testing"

func TestCanonicalNumber(t *testing.T) {
	tests := map[string]string{
		"0": "0", "-0": "0", "0.000": "0", "0e10": "0", "-0.0e-3": "0",
		"1": "1", "-1": "-1", "100": "100", "1e2": "100", "1E+2": "100", "100.00": "100",
		"2.50": "2.5", "0.5": "0.5", "-0.0000001": "-1e-7", "-1e-7": "-1e-7", "1.5e-07": "1.5e-7",
		"0.000001": "0.000001", "1e-6": "0.000001", "123.456e1": "1234.56", "0.0123": "0.0123",
		"1e21": "1e+21", "1e20": "100000000000000000000", "123456789012345678901234": "1.23456789012345678901234e+23",
		"18446744073709551615": "18446744073709551615", "3.141592653589793238462643383279": "3.141592653589793238462643383279",
		"1e1000000000000": "1e1000000000000",
	}
	for in, want := range tests {
		if got := canonicalNumber(in); got != want {
			t.Errorf("canonicalNumber(%s) = %s, want %s", in, got, want)
		}
	}
}

// JSON as the databases give it back reads the same once canonical.
func TestCanonicalJSON(t *testing.T) {
	forms := []string{
		`{"b":[1,2.50,"<&>\u00e9"],"a":{"y":null,"x":1e-7},"aa":true}`,                               // as written
		`{"a": {"x": 0.0000001, "y": null}, "b": [1, 2.50, "<&>é"], "aa": true}`,                     // PostgreSQL's JSONB
		"{\n  \"aa\": true,\n  \"a\": {\"x\": 1E-7, \"y\": null},\n  \"b\": [1.0, 2.5, \"<&>é\"]\n}", // by hand
	}
	want := `{"a":{"x":1e-7,"y":null},"aa":true,"b":[1,2.5,"<&>é"]}`
	for _, f := range forms {
		got, err := canonicalJSON([]byte(f))
		if err != nil || string(got) != want {
			t.Errorf("canonicalJSON(%s) = %s, %v; want %s", f, got, err, want)
		}
	}
	if got, err := canonicalJSON(nil); got != nil || err != nil {
		t.Errorf("canonicalJSON(nil) = %q, %v", got, err)
	}
	if _, err := canonicalJSON([]byte(`{"a":`)); err == nil {
		t.Error("canonicalJSON of bad JSON: no error")
	}
}
