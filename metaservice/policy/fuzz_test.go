package policy

import (
	"errors"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParse: Parse must never panic; an error is always a *ParseError
// wrapping EINVAL; an accepted policy is valid, and survives
// Marshal -> Parse and Encode -> Decode unchanged.
func FuzzParse(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c.yaml))
	}
	for _, c := range errorCases {
		if len(c.yaml) <= 4096 {
			f.Add([]byte(c.yaml))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			require.ErrorIs(t, err, syscall.EINVAL)
			var pe *ParseError
			require.True(t, errors.As(err, &pe))
			require.NotEmpty(t, pe.Msg)
			require.GreaterOrEqual(t, pe.Line, 0)
			return
		}
		require.NoError(t, p.Validate())
		b, err := p.Marshal()
		require.NoError(t, err)
		back, err := Parse(b)
		require.NoError(t, err, "canonical form refused:\n%s", b)
		require.Equal(t, p, back, "canonical form:\n%s", b)
		dec, err := Decode(p.Encode())
		require.NoError(t, err)
		require.Equal(t, p, dec)
	})
}
