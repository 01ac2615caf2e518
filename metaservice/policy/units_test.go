package policy

import (
	"math/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseRate(t *testing.T) {
	cases := []struct {
		in   string
		want int64
	}{
		{"unlimited", 0},
		{"100mbps", 12_500_000},
		{"100Mbps", 12_500_000},
		{"1gbps", 125_000_000},
		{"1Gbps", 125_000_000},
		{"500kbps", 62_500},
		{"500Kbps", 62_500},
		{"12.5MB/s", 12_500_000},
		{"1 MiB/s", 1 << 20},
		{"1.5KiB/s", 1536},
		{"2GiB/s", 2 << 30},
		{"1kB/s", 1000},
		{"1KB/s", 1000},
		{"7B/s", 7},
		{"8bps", 1},
		{"4bps", 1},  // 0.5 B/s rounds half up
		{"12bps", 2}, // 1.5 B/s
		{"0.000000001GB/s", 1},
		{"1000GB/s", 1e12},
		{"8000gbps", 1e12},
		{"000100mbps", 12_500_000},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseRate(c.in)
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

func TestParseRateErrors(t *testing.T) {
	cases := map[string]string{
		"":                     `must be a rate such as 100mbps or 12.5MB/s, got ""`,
		"100":                  `"100" has no unit`,
		"1.5":                  `"1.5" has no unit`,
		"mbps":                 `must be a rate such as 100mbps`,
		".5mbps":               `must be a rate such as 100mbps`,
		"1.mbps":               `must be a rate such as 100mbps`,
		"1e3mbps":              `must be a rate such as 100mbps`,
		"-1mbps":               `must be a rate such as 100mbps`,
		"100 mbps ":            `must be a rate such as 100mbps`,
		"100MBps":              `unknown unit "MBps"`,
		"100mb/s":              `unknown unit "mb/s"`,
		"100MBPS":              `unknown unit "MBPS"`,
		"1TB/s":                `unknown unit "TB/s"`,
		"Unlimited":            `must be a rate such as 100mbps`,
		"3bps":                 `"3bps" is less than 1 B/s`,
		"0.4B/s":               `"0.4B/s" is less than 1 B/s`,
		"1000.000000001GB/s":   `is more than the 1 TB/s maximum`,
		"9999999999999999gbps": `must be a rate such as 100mbps`, // too many digits
	}
	for in, want := range cases {
		t.Run(in, func(t *testing.T) {
			_, err := ParseRate(in)
			require.ErrorContains(t, err, want)
		})
	}
}

func TestFormatRate(t *testing.T) {
	for in, want := range map[int64]string{
		0: "unlimited", 1: "8bps", 125: "1kbps", 12_500_000: "100mbps", 125_000_000: "1gbps",
		1536: "12288bps", 1 << 20: "8388608bps", 1e12: "8000gbps", 62_500: "500kbps", 15_625: "125kbps",
	} {
		require.Equal(t, want, FormatRate(in))
	}
	rnd := rand.New(rand.NewSource(1))
	values := []int64{1, 2, 7, 8, 999, 1000, 1e12, 1e12 - 1}
	for range 1000 {
		values = append(values, 1+rnd.Int63n(MaxLimitBytesPerSec))
	}
	for _, v := range values {
		got, err := ParseRate(FormatRate(v))
		require.NoError(t, err)
		require.Equal(t, v, got, "%d formatted as %s", v, FormatRate(v))
	}
}

func TestParseHourRange(t *testing.T) {
	for in, want := range map[string]HourRange{
		"22:00-06:00": {22 * 60, 6 * 60},
		"09:15-17:45": {9*60 + 15, 17*60 + 45},
		"00:00-24:00": {0, 24 * 60},
		"23:59-00:00": {23*60 + 59, 0},
		"00:00-00:01": {0, 1},
	} {
		got, err := ParseHourRange(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.Equal(t, in, got.String())
	}
	for in, want := range map[string]string{
		"22:00 - 06:00": `must be "HH:MM-HH:MM"`,
		"22:00-6:00":    `must be "HH:MM-HH:MM"`,
		"22:00":         `must be "HH:MM-HH:MM"`,
		"":              `must be "HH:MM-HH:MM"`,
		"24:00-01:00":   "start 24:00 is not a time of day",
		"12:60-13:00":   "start 12:60 is not a time of day",
		"12:00-25:00":   "end 25:00 is not a time of day",
		"12:00-24:30":   "end 24:30 is not a time of day",
		"12:00-12:00":   "start and end are equal",
		"00:00-00:00":   "start and end are equal",
	} {
		_, err := ParseHourRange(in)
		require.ErrorContains(t, err, want, in)
	}
}

func TestHourRangeContains(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2025, 3, 30, h, m, 59, 999, time.UTC) }
	cases := []struct {
		window string
		h, m   int
		want   bool
	}{
		{"22:00-06:00", 21, 59, false},
		{"22:00-06:00", 22, 0, true},
		{"22:00-06:00", 23, 59, true},
		{"22:00-06:00", 0, 0, true},
		{"22:00-06:00", 5, 59, true},
		{"22:00-06:00", 6, 0, false},
		{"22:00-06:00", 12, 0, false},
		{"09:00-17:30", 8, 59, false},
		{"09:00-17:30", 9, 0, true},
		{"09:00-17:30", 17, 29, true},
		{"09:00-17:30", 17, 30, false},
		{"00:00-24:00", 0, 0, true},
		{"00:00-24:00", 23, 59, true},
		{"23:00-00:00", 23, 0, true},
		{"23:00-00:00", 0, 0, false},
		{"23:00-00:00", 22, 59, false},
	}
	for _, c := range cases {
		h, err := ParseHourRange(c.window)
		require.NoError(t, err)
		require.Equal(t, c.want, h.Contains(at(c.h, c.m)), "%s at %02d:%02d", c.window, c.h, c.m)
	}

	// The window is in the location of the time passed: 23:00 UTC is
	// 07:00 in UTC+8, outside a night window there.
	h, err := ParseHourRange("22:00-06:00")
	require.NoError(t, err)
	utc := time.Date(2025, 1, 1, 23, 0, 0, 0, time.UTC)
	require.True(t, h.Contains(utc))
	require.False(t, h.Contains(utc.In(time.FixedZone("perth", 8*3600))))
}
