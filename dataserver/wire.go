package dataserver

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// DecodeMsgpack decodes a WriteReq (encoded by msgpack from its struct
// tags, as every client does) the way the default decoder would, except
// that Data is read into a buffer with room for a journal record header in
// front of it: the write path then journals the data without copying it
// again. Unknown keys are skipped, as the default decoder does.
func (r *WriteReq) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := d.DecodeMapLen()
	if err != nil {
		return err
	}
	*r = WriteReq{}
	for range max(n, 0) {
		key, err := d.DecodeString()
		if err != nil {
			return err
		}
		switch key {
		case "c":
			r.Chunk, err = d.DecodeUint64()
		case "ev":
			r.ExpectedVersion, err = d.DecodeUint64()
		case "av":
			r.AnyVersion, err = d.DecodeBool()
		case "o":
			r.Offset, err = d.DecodeInt64()
		case "d":
			err = r.decodeData(d)
		case "k":
			r.CRC, err = d.DecodeUint32()
		case "s":
			r.Sync, err = d.DecodeBool()
		case "sh":
			r.Shm, err = d.DecodeUint64()
		case "so":
			r.ShmOff, err = d.DecodeInt64()
		case "sl":
			r.ShmLen, err = d.DecodeInt64()
		default:
			err = d.Skip()
		}
		if err != nil {
			return fmt.Errorf("WriteReq.%s: %w", key, err)
		}
	}
	return nil
}

// decodeData reads the Data field into r.frame (see WriteReq.frame).
func (r *WriteReq) decodeData(d *msgpack.Decoder) error {
	n, err := d.DecodeBytesLen()
	if err != nil || n < 0 {
		return err // n == -1: nil
	}
	r.frame = newFrame(n)
	r.Data = r.frame[mutationHeader:]
	return d.ReadFull(r.Data)
}

// encodeFramed returns m's encoding: in place in m.frame when m.Data is
// m.frame[mutationHeader:] (a decoded WriteReq), else in new memory.
func (m *Mutation) encodeFramed() []byte {
	f := m.frame
	if len(f) != m.Size() || len(m.Data) == 0 || &f[mutationHeader] != &m.Data[0] {
		return m.Encode()
	}
	m.appendHeader(f[:0])
	return f
}
