package policy

import (
	"bytes"
	"fmt"
	"strconv"
	"syscall"

	"github.com/vmihailenco/msgpack/v5"
	"gopkg.in/yaml.v3"
)

// Marshal writes p as a canonical policy file: every key, in a fixed
// order, so two equal policies give identical bytes and Parse(Marshal(p))
// equals p. An invalid policy is refused with Validate's error.
func (p Policy) Marshal() ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	copies := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(p.TargetCopies)}
	if p.PerRegion {
		copies = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.DoubleQuotedStyle, Value: p.copiesString()}
	}
	top := []*yaml.Node{
		str("write_ack"), str(string(p.WriteAck)),
		str("replication"), str(string(p.Replication)),
		str("target_copies"), copies,
	}
	if len(p.Regions) > 0 {
		seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, r := range p.Regions {
			seq.Content = append(seq.Content, str(r))
		}
		top = append(top, str("regions"), seq)
	}
	bw := []*yaml.Node{str("limit"), str(FormatRate(p.Bandwidth.LimitBytesPerSec))}
	if h := p.Bandwidth.PriorityHours; h != nil {
		bw = append(bw, str("priority_hours"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.DoubleQuotedStyle, Value: h.String()})
	}
	bw = append(bw, str("burst_allowed"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(p.Bandwidth.BurstAllowed)})
	top = append(top, str("bandwidth"), &yaml.Node{Kind: yaml.MappingNode, Content: bw})

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.MappingNode, Content: top}); err != nil {
		return nil, fmt.Errorf("marshal policy: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal policy: %w", err)
	}
	return buf.Bytes(), nil
}

// str is a plain string scalar; the encoder quotes it if YAML would read
// it as something else.
func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// encodingVersion is the first byte of Encode's output, so the stored
// format can change without misreading old records.
const encodingVersion = 1

// stored is the compact form of a Policy kept in the metadata store.
type stored struct {
	_msgpack struct{} `msgpack:",as_array"`

	WriteAck     string
	Replication  string
	TargetCopies int
	PerRegion    bool
	Regions      []string
	Limit        int64
	HasHours     bool
	StartMin     int
	EndMin       int
	Burst        bool
}

// Encode returns the compact form of p stored by the metaservice (a version
// byte and a msgpack array). It does not validate p; Decode does.
func (p Policy) Encode() []byte {
	s := stored{
		WriteAck: string(p.WriteAck), Replication: string(p.Replication),
		TargetCopies: p.TargetCopies, PerRegion: p.PerRegion, Regions: p.Regions,
		Limit: p.Bandwidth.LimitBytesPerSec, Burst: p.Bandwidth.BurstAllowed,
	}
	if h := p.Bandwidth.PriorityHours; h != nil {
		s.HasHours, s.StartMin, s.EndMin = true, h.StartMin, h.EndMin
	}
	b, err := msgpack.Marshal(&s)
	if err != nil {
		// Only strings, ints and bools: msgpack cannot fail on them.
		panic(fmt.Sprintf("policy: encode: %v", err))
	}
	return append([]byte{encodingVersion}, b...)
}

// Decode parses Encode's output and validates the result, so a damaged
// record is an error (wrapping syscall.EINVAL), never an invalid Policy.
func Decode(b []byte) (Policy, error) {
	if len(b) == 0 || b[0] != encodingVersion {
		return Policy{}, fmt.Errorf("decode policy: unknown stored encoding (%d bytes): %w", len(b), syscall.EINVAL)
	}
	var s stored
	if err := msgpack.Unmarshal(b[1:], &s); err != nil {
		return Policy{}, fmt.Errorf("decode policy: %v: %w", err, syscall.EINVAL)
	}
	p := Policy{
		WriteAck: WriteAck(s.WriteAck), Replication: Replication(s.Replication),
		TargetCopies: s.TargetCopies, PerRegion: s.PerRegion, Regions: s.Regions,
		Bandwidth: Bandwidth{LimitBytesPerSec: s.Limit, BurstAllowed: s.Burst},
	}
	if len(p.Regions) == 0 {
		p.Regions = nil
	}
	if s.HasHours {
		p.Bandwidth.PriorityHours = &HourRange{StartMin: s.StartMin, EndMin: s.EndMin}
	}
	if err := p.Validate(); err != nil {
		return Policy{}, fmt.Errorf("decode policy: %w", err)
	}
	return p, nil
}
