package keymap

import (
	"math"
	"math/big"
	"strconv"
)

// round returns f rounded to e.tol decimal digits.
func (e *encoder) round(f float64) float64 {
	if e.tol < 0 {
		return roundTens(f, -e.tol)
	}
	if f != f || math.IsInf(f, 0) || math.Abs(f) >= 1<<52 {
		return f // not finite, or an integer already
	}
	// strconv rounds exactly, half to even on the binary value, like
	// Python's round; parsing the digits back gives the nearest float.
	w := e.work()
	w.scratch = strconv.AppendFloat(w.scratch[:0], f, 'f', e.tol, 64)
	r, _ := strconv.ParseFloat(unsafeString(w.scratch), 64)
	return r
}

// roundTens returns f rounded to a multiple of 10^n, half to even on the
// exact binary value of f, like Python's round(f, -n). A result beyond the
// float64 range is an infinity.
func roundTens(f float64, n int) float64 {
	if f != f || math.IsInf(f, 0) || f == 0 {
		return f
	}
	x := new(big.Rat).SetFloat64(f)
	unit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	x.Quo(x, new(big.Rat).SetInt(unit))
	q, r := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int)) // q truncated toward zero
	r.Lsh(r.Abs(r), 1)
	if c := r.Cmp(x.Denom()); c > 0 || c == 0 && q.Bit(0) == 1 {
		q.Add(q, big.NewInt(int64(x.Sign())))
	}
	rounded, _ := new(big.Float).SetInt(q.Mul(q, unit)).Float64()
	return rounded
}
