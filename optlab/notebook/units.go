package notebook

import (
	"math"
	"strconv"
)

// Duration formats a short wall time for prose with two significant digits
// and the unit that suits it: 3.2e-6 → "3.2 µs", 0.0041 → "4.1 ms",
// 1.37 → "1.4 s"; from 90 s on, as Seconds ("3 min").
func Duration(s float64) string {
	switch {
	case !finite(s) || s < 0:
		return "n/a"
	case s == 0:
		return "0 s"
	case s < 1e-3:
		return Sig(s*1e6, 2) + " µs"
	case s < 1:
		return Sig(s*1e3, 2) + " ms"
	case s < 90:
		return Sig(s, 2) + " s"
	}
	return Seconds(s)
}

// Bytes formats a size in bytes with binary prefixes and three significant
// digits: 855040 → "835 KiB", 8 → "8 B".
func Bytes(b float64) string {
	if !finite(b) || b < 0 {
		return "n/a"
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(math.Round(b), 'f', 0, 64) + " B"
	}
	return Sig(b, 3) + " " + units[i]
}
