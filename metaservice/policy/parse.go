package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"gopkg.in/yaml.v3"
)

// ParseError says what is wrong with a policy file and where. It wraps
// syscall.EINVAL: errors.Is(err, syscall.EINVAL) holds, and the errno
// crosses the RPC transport.
type ParseError struct {
	Line, Column int    // 1-based; 0 when unknown (or not from a file)
	Field        string // the key concerned, dotted ("bandwidth.limit"); may be empty
	Msg          string
}

// Error formats the error as ".lis-policy.yaml:LINE: FIELD: MSG".
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(FileName)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns syscall.EINVAL.
func (e *ParseError) Unwrap() error { return syscall.EINVAL }

// Parse parses and validates the contents of a policy file (see the package
// doc for the format). Keys the file omits take their defaults. It fails
// with a *ParseError for the first problem in the file: a YAML syntax
// error, an empty file, more than one document, a duplicate or unknown
// key, a value of the wrong type or out of range, an alias, or a
// combination of values that contradict each other.
func Parse(data []byte) (p Policy, err error) {
	if len(data) > MaxFileSize {
		return Policy{}, &ParseError{Msg: fmt.Sprintf("file is %d bytes; a policy file may have at most %d", len(data), MaxFileSize)}
	}
	root, err := parseDocument(data)
	if err != nil {
		return Policy{}, err
	}
	ps := &parser{keys: map[string]*yaml.Node{}}
	if err := ps.policy(root, &p); err != nil {
		return Policy{}, err
	}
	if pr := p.check(); pr != nil {
		return Policy{}, ps.errProblem(pr)
	}
	return p, nil
}

// parseDocument returns the top-level node of the single document in data.
func parseDocument(data []byte) (root *yaml.Node, err error) {
	// yaml.v3 has panicked on malformed input in the past; a policy file is
	// user input and must not take the metaservice down.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, &ParseError{Msg: fmt.Sprintf("malformed YAML (parser failed: %v)", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ParseError{Line: 1, Msg: emptyMsg}
		}
		return nil, yamlError(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, &ParseError{Line: next.Line, Column: next.Column, Msg: "a second YAML document starts here; a policy file holds one"}
	case !errors.Is(err, io.EOF):
		return nil, yamlError(err)
	}
	if len(doc.Content) != 1 {
		return nil, &ParseError{Line: 1, Msg: emptyMsg}
	}
	root = doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, &ParseError{Line: root.Line, Column: root.Column, Msg: emptyMsg}
	}
	return root, nil
}

const emptyMsg = "empty policy (write {} for the built-in default)"

var yamlLine = regexp.MustCompile(`^yaml: (?:line ([0-9]+): )?(.*)$`)

// parserProblems are the messages of yaml.v3's parser (as opposed to its
// scanner). yaml.v3 v3.0.1 prints the 0-based line for these (and no
// line for line 0).
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
	"found undefined tag handle":             true,
}

// scannerProblems are the messages of yaml.v3's scanner. It prints 1-based
// lines for them, but none for line 1.
var scannerProblems = map[string]bool{
	"block sequence entries are not allowed in this context":       true,
	"could not find expected ':'":                                  true,
	"could not find expected directive name":                       true,
	"did not find expected alphabetic or numeric character":        true,
	"did not find expected comment or line break":                  true,
	"did not find expected digit or '.' character":                 true,
	"did not find expected hexdecimal number":                      true,
	"did not find expected version number":                         true,
	"did not find expected whitespace or line break":               true,
	"did not find expected whitespace":                             true,
	"did not find the expected '>'":                                true,
	"found a tab character that violates indentation":              true,
	"found a tab character where an indentation space is expected": true,
	"found an indentation indicator equal to 0":                    true,
	"found character that cannot start any token":                  true,
	"found extremely long version number":                          true,
	"found invalid Unicode character escape code":                  true,
	"found unexpected document indicator":                          true,
	"found unexpected end of stream":                               true,
	"found unexpected non-alphabetical character":                  true,
	"found unknown directive name":                                 true,
	"found unknown escape character":                               true,
	"mapping keys are not allowed in this context":                 true,
	"mapping values are not allowed in this context":               true,
}

// yamlError turns a yaml.v3 syntax error ("yaml: line 3: ...") into a
// ParseError with a 1-based line: where the problem is, or where the
// construct it breaks starts. Line is 0 when yaml.v3 gives no position
// (invalid UTF-8, an undefined alias, ...).
func yamlError(err error) *ParseError {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return &ParseError{Msg: "YAML syntax: " + err.Error()}
	}
	line, _ := strconv.Atoi(m[1]) // 0 when absent
	switch {
	case parserProblems[m[2]]:
		line++
	case scannerProblems[m[2]] && line == 0:
		line = 1
	}
	return &ParseError{Line: line, Msg: "YAML syntax: " + m[2]}
}

// parser walks the document's nodes. keys records the key node of every
// field the file sets, so a rule broken by a combination of values can be
// reported at the line of the key concerned.
type parser struct {
	keys map[string]*yaml.Node
}

func errAt(n *yaml.Node, field, format string, args ...any) *ParseError {
	return &ParseError{Line: n.Line, Column: n.Column, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (ps *parser) errProblem(pr *problem) *ParseError {
	field := pr.field
	n := ps.keys[field]
	if n == nil && pr.alt != "" {
		field, n = pr.alt, ps.keys[pr.alt]
	}
	if n == nil {
		return &ParseError{Field: field, Msg: pr.msg}
	}
	return errAt(n, field, "%s", pr.msg)
}

// mapping calls set for every key of the mapping n (a field named prefix,
// "" at the top), refusing non-mappings, aliases, duplicate keys and keys
// not in known.
func (ps *parser) mapping(n *yaml.Node, prefix string, known []string, set func(key string, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		if prefix == "" {
			return errAt(n, "", "a policy must be a mapping of keys (%s), got %s", strings.Join(known, ", "), describe(n))
		}
		return errAt(n, prefix, "must be a mapping with keys %s, got %s", strings.Join(known, ", "), describe(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return errAt(k, prefix, "keys must be plain names, got %s", describe(k))
		}
		field := k.Value
		if prefix != "" {
			field = prefix + "." + k.Value
		}
		if !slices.Contains(known, k.Value) {
			return errAt(k, "", "unknown key %s (known keys%s: %s)", quote(field), inWhat(prefix), strings.Join(known, ", "))
		}
		if prev := ps.keys[field]; prev != nil {
			return errAt(k, field, "duplicate key (first set on line %d)", prev.Line)
		}
		ps.keys[field] = k
		if err := refuseAliases(v, field); err != nil {
			return err
		}
		if err := set(field, v); err != nil {
			return err
		}
	}
	return nil
}

func inWhat(prefix string) string {
	if prefix == "" {
		return ""
	}
	return " of " + prefix
}

// refuseAliases rejects YAML aliases anywhere in n: they are never needed
// in a policy and would make line numbers point at the anchor instead.
func refuseAliases(n *yaml.Node, field string) error {
	if n.Kind == yaml.AliasNode {
		return errAt(n, field, "aliases (*%s) are not supported in policy files", n.Value)
	}
	for _, c := range n.Content {
		if err := refuseAliases(c, field); err != nil {
			return err
		}
	}
	return nil
}

// describe names what a node holds, for "got ..." in messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return quote(n.Value)
	}
	return "an alias"
}

// scalar returns n's text, or an error if n is not a non-null scalar.
func scalar(n *yaml.Node, field, want string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return "", errAt(n, field, "must be %s, got %s", want, describe(n))
	}
	return n.Value, nil
}

var topKeys = []string{"write_ack", "replication", "target_copies", "regions", "bandwidth"}

// policy fills p from the top-level mapping, then applies defaults for the
// keys the file does not set.
func (ps *parser) policy(root *yaml.Node, p *Policy) error {
	def := Default()
	p.Replication, p.TargetCopies = def.Replication, def.TargetCopies
	err := ps.mapping(root, "", topKeys, func(field string, v *yaml.Node) error {
		switch field {
		case "write_ack":
			return enum(v, field, writeAcks, &p.WriteAck)
		case "replication":
			return enum(v, field, replications, &p.Replication)
		case "target_copies":
			return targetCopies(v, p)
		case "regions":
			return regions(v, p)
		default:
			return ps.bandwidth(v, &p.Bandwidth)
		}
	})
	if err != nil {
		return err
	}
	if p.WriteAck == "" {
		p.WriteAck = defaultWriteAck(*p)
	}
	return nil
}

func enum[T ~string](n *yaml.Node, field string, allowed []T, dst *T) error {
	if n.Kind != yaml.ScalarNode || !slices.Contains(allowed, T(n.Value)) {
		return errAt(n, field, "%s", oneOf(allowed, describe(n)))
	}
	*dst = T(n.Value)
	return nil
}

var copiesSyntax = regexp.MustCompile(`^([0-9]+)(_per_region)?$`)

func targetCopies(n *yaml.Node, p *Policy) error {
	const field = "target_copies"
	const want = `a positive integer or "N_per_region"`
	s, err := scalar(n, field, want)
	if err != nil {
		return err
	}
	m := copiesSyntax.FindStringSubmatch(s)
	if m == nil {
		return errAt(n, field, "must be %s, got %s", want, quote(s))
	}
	c, err := strconv.Atoi(m[1])
	if err != nil || c < 1 || c > MaxCopies {
		return errAt(n, field, "must be between 1 and %d, got %s", MaxCopies, m[1])
	}
	p.TargetCopies, p.PerRegion = c, m[2] != ""
	return nil
}

func regions(n *yaml.Node, p *Policy) error {
	if n.Kind != yaml.SequenceNode {
		return errAt(n, "regions", "must be a list of region names, e.g. [perth, london], got %s", describe(n))
	}
	for i, c := range n.Content {
		field := fmt.Sprintf("regions[%d]", i)
		s, err := scalar(c, field, "a region name")
		if err != nil {
			return err
		}
		p.Regions = append(p.Regions, s)
		// Check as each name is added so the error points at its line.
		if pr := checkRegions(p.Regions); pr != nil {
			return errAt(c, pr.field, "%s", pr.msg)
		}
	}
	return nil
}

var bandwidthKeys = []string{"limit", "priority_hours", "burst_allowed"}

func (ps *parser) bandwidth(n *yaml.Node, b *Bandwidth) error {
	return ps.mapping(n, "bandwidth", bandwidthKeys, func(field string, v *yaml.Node) error {
		switch field {
		case "bandwidth.limit":
			s, err := scalar(v, field, `a rate such as 100mbps or "unlimited"`)
			if err != nil {
				return err
			}
			r, err := ParseRate(s)
			if err != nil {
				return errAt(v, field, "%v", err)
			}
			b.LimitBytesPerSec = r
		case "bandwidth.priority_hours":
			s, err := scalar(v, field, `"HH:MM-HH:MM"`)
			if err != nil {
				return err
			}
			h, err := ParseHourRange(s)
			if err != nil {
				return errAt(v, field, "%v", err)
			}
			b.PriorityHours = &h
		default:
			val := strings.ToLower(v.Value)
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" || (val != "true" && val != "false") {
				return errAt(v, field, "must be true or false, got %s", describe(v))
			}
			b.BurstAllowed = val == "true"
		}
		return nil
	})
}
