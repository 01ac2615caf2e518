package metaservice

import (
	"fmt"
	"reflect"

	"github.com/vmihailenco/msgpack/v5"
)

// Records are msgpack arrays (as_array): compact, but msgpack refuses an
// array whose length is not its struct's. The records that have gained
// fields since volumes were first written decode with decodeGrowable, so
// that a volume an older Lis wrote (fewer fields) still opens, and one a
// newer Lis wrote (more) can be read: missing fields are zero, extra ones
// skipped. Such a record only ever gains fields at its end.

// DecodeMsgpack decodes an Attr of any field count (decodeGrowable).
func (a *Attr) DecodeMsgpack(d *msgpack.Decoder) error {
	return decodeGrowable(d, reflect.ValueOf(a).Elem())
}

// DecodeMsgpack decodes a ChunkRecord of any field count (decodeGrowable).
func (c *ChunkRecord) DecodeMsgpack(d *msgpack.Decoder) error {
	return decodeGrowable(d, reflect.ValueOf(c).Elem())
}

// DecodeMsgpack decodes a queued deletion of any field count
// (decodeGrowable).
func (d *deletion) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeGrowable(dec, reflect.ValueOf(d).Elem())
}

// decodeGrowable decodes an array into the exported fields of the struct
// v, in order, however many the array has.
func decodeGrowable(d *msgpack.Decoder, v reflect.Value) error {
	n, err := d.DecodeArrayLen()
	if err != nil {
		return fmt.Errorf("%s: %w", v.Type(), err)
	}
	v.SetZero()
	var fields []reflect.Value
	var names []string
	for i := range v.NumField() {
		if f := v.Type().Field(i); f.IsExported() {
			fields, names = append(fields, v.Field(i)), append(names, f.Name)
		}
	}
	for i := 0; i < n; i++ {
		if i >= len(fields) {
			if err := d.Skip(); err != nil {
				return fmt.Errorf("%s: field %d: %w", v.Type(), i, err)
			}
			continue
		}
		// The field itself, settable: through a pointer to it, msgpack
		// would decode a nil by setting the pointer, which it cannot.
		if err := d.DecodeValue(fields[i]); err != nil {
			return fmt.Errorf("%s.%s: %w", v.Type(), names[i], err)
		}
	}
	return nil
}
