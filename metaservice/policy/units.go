package policy

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
)

// Unlimited is how a bandwidth limit of 0 is written.
const Unlimited = "unlimited"

// rateUnits maps each accepted unit to bytes per second per unit, as a
// fraction: bit units divide by 8.
var rateUnits = map[string]*big.Rat{
	"bps": big.NewRat(1, 8), "kbps": big.NewRat(1e3, 8), "mbps": big.NewRat(1e6, 8), "gbps": big.NewRat(1e9, 8),
	"Kbps": big.NewRat(1e3, 8), "Mbps": big.NewRat(1e6, 8), "Gbps": big.NewRat(1e9, 8),
	"B/s": big.NewRat(1, 1), "KB/s": big.NewRat(1e3, 1), "kB/s": big.NewRat(1e3, 1), "MB/s": big.NewRat(1e6, 1), "GB/s": big.NewRat(1e9, 1),
	"KiB/s": big.NewRat(1<<10, 1), "MiB/s": big.NewRat(1<<20, 1), "GiB/s": big.NewRat(1<<30, 1),
}

const acceptedUnits = `bps, kbps, mbps, gbps for bits/s; B/s, KB/s, MB/s, GB/s, KiB/s, MiB/s, GiB/s for bytes/s; or "unlimited"`

// rateSyntax is a decimal number, optional blanks, and a unit. The digit
// counts keep the arithmetic small whatever the input.
var rateSyntax = regexp.MustCompile(`^([0-9]{1,15}(?:\.[0-9]{1,9})?) *([A-Za-z]+(?:/s)?)$`)

// ParseRate parses a bandwidth such as "100mbps" or "12.5MB/s" into bytes
// per second, rounded to the nearest whole byte. "unlimited" is 0. The
// error message is meant to follow "bandwidth.limit: ".
func ParseRate(s string) (int64, error) {
	if s == Unlimited {
		return 0, nil
	}
	m := rateSyntax.FindStringSubmatch(s)
	if m == nil {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return 0, fmt.Errorf("%s has no unit (use %s)", quote(s), acceptedUnits)
		}
		return 0, fmt.Errorf("must be a rate such as 100mbps or 12.5MB/s, got %s (units: %s)", quote(s), acceptedUnits)
	}
	unit, ok := rateUnits[m[2]]
	if !ok {
		return 0, fmt.Errorf("unknown unit %s in %s (use %s)", quote(m[2]), quote(s), acceptedUnits)
	}
	num, ok := new(big.Rat).SetString(m[1])
	if !ok {
		return 0, fmt.Errorf("bad number %s in %s", quote(m[1]), quote(s))
	}
	num.Mul(num, unit)
	// Round half up: floor(num + 1/2).
	num.Add(num, big.NewRat(1, 2))
	q := new(big.Int).Quo(num.Num(), num.Denom())
	if q.Sign() < 1 {
		return 0, fmt.Errorf("%s is less than 1 B/s", quote(s))
	}
	if q.Cmp(big.NewInt(MaxLimitBytesPerSec)) > 0 {
		return 0, fmt.Errorf("%s is more than the 1 TB/s maximum", quote(s))
	}
	return q.Int64(), nil
}

// FormatRate writes bytes per second in the largest bit unit that
// represents it exactly ("100mbps" for 12500000); 0 is "unlimited".
// ParseRate(FormatRate(r)) == r for every r in [0, MaxLimitBytesPerSec].
func FormatRate(bytesPerSec int64) string {
	if bytesPerSec == 0 {
		return Unlimited
	}
	bits := bytesPerSec * 8
	for _, u := range []struct {
		name string
		per  int64
	}{{"gbps", 1e9}, {"mbps", 1e6}, {"kbps", 1e3}} {
		if bits%u.per == 0 {
			return fmt.Sprintf("%d%s", bits/u.per, u.name)
		}
	}
	return fmt.Sprintf("%dbps", bits)
}

var hourSyntax = regexp.MustCompile(`^([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})$`)

// ParseHourRange parses "HH:MM-HH:MM" (24-hour clock; the end may be
// 24:00). The error message is meant to follow "bandwidth.priority_hours: ".
func ParseHourRange(s string) (HourRange, error) {
	m := hourSyntax.FindStringSubmatch(s)
	if m == nil {
		return HourRange{}, fmt.Errorf(`must be "HH:MM-HH:MM" (24-hour clock, e.g. "22:00-06:00"), got %s`, quote(s))
	}
	n := make([]int, 4)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1]) // two digits: cannot fail
	}
	h := HourRange{StartMin: n[0]*60 + n[1], EndMin: n[2]*60 + n[3]}
	switch {
	case n[0] > 23 || n[1] > 59:
		return HourRange{}, fmt.Errorf("start %s:%s is not a time of day (00:00 to 23:59)", m[1], m[2])
	case n[3] > 59 || h.EndMin > 24*60:
		return HourRange{}, fmt.Errorf("end %s:%s is not a time of day (00:00 to 24:00)", m[3], m[4])
	}
	if pr := (Bandwidth{PriorityHours: &h}).check(); pr != nil {
		return HourRange{}, fmt.Errorf("%s", pr.msg)
	}
	return h, nil
}
