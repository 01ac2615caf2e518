package rpc

import (
	"time"

	ms "github.com/lis-fs/lis/metaservice"
)

// Conversions between the core's result types and their wire twins. Both
// directions keep nil slices nil, so a value survives a round trip
// unchanged.

func toWireEntries(in []ms.DirEntry) []wireDirEntry {
	if in == nil {
		return nil
	}
	out := make([]wireDirEntry, len(in))
	for i, e := range in {
		out[i] = wireDirEntry{Name: e.Name, Ino: e.Ino, Type: e.Type, Cookie: e.Cookie, Attr: e.Attr}
	}
	return out
}

func fromWireEntries(in []wireDirEntry) []ms.DirEntry {
	if in == nil {
		return nil
	}
	out := make([]ms.DirEntry, len(in))
	for i, e := range in {
		out[i] = ms.DirEntry{Name: e.Name, Ino: e.Ino, Type: e.Type, Cookie: e.Cookie, Attr: e.Attr}
	}
	return out
}

func toWireSessions(in []ms.Session) []wireSession {
	if in == nil {
		return nil
	}
	out := make([]wireSession, len(in))
	for i, s := range in {
		out[i] = wireSession{ID: s.ID, Info: s.Info, Expires: s.Expires.UnixNano()}
	}
	return out
}

func fromWireSessions(in []wireSession) []ms.Session {
	if in == nil {
		return nil
	}
	out := make([]ms.Session, len(in))
	for i, s := range in {
		out[i] = ms.Session{ID: s.ID, Info: s.Info, Expires: time.Unix(0, s.Expires)}
	}
	return out
}

func toWireChunks(in []ms.IndexedChunk) []wireIndexedChunk {
	if in == nil {
		return nil
	}
	out := make([]wireIndexedChunk, len(in))
	for i, c := range in {
		out[i] = wireIndexedChunk{Index: c.Index, Chunk: c.ChunkRecord}
	}
	return out
}

func fromWireChunks(in []wireIndexedChunk) []ms.IndexedChunk {
	if in == nil {
		return nil
	}
	out := make([]ms.IndexedChunk, len(in))
	for i, c := range in {
		out[i] = ms.IndexedChunk{Index: c.Index, ChunkRecord: c.Chunk}
	}
	return out
}

func toWireDeletions(in []ms.Deletion) []wireDeletion {
	if in == nil {
		return nil
	}
	out := make([]wireDeletion, len(in))
	for i, d := range in {
		out[i] = wireDeletion{Chunk: d.Chunk, Replicas: d.Replicas}
	}
	return out
}

func fromWireDeletions(in []wireDeletion) []ms.Deletion {
	if in == nil {
		return nil
	}
	out := make([]ms.Deletion, len(in))
	for i, d := range in {
		out[i] = ms.Deletion{Chunk: d.Chunk, Replicas: d.Replicas}
	}
	return out
}

func toWireShards(in []ms.ShardInfo) []wireShardInfo {
	if in == nil {
		return nil
	}
	out := make([]wireShardInfo, len(in))
	for i, s := range in {
		out[i] = wireShardInfo{Record: s.ShardRecord, Where: s.Where, Start: s.Start, End: s.End, Inodes: s.Inodes, Bytes: s.Bytes}
	}
	return out
}

func fromWireShards(in []wireShardInfo) []ms.ShardInfo {
	if in == nil {
		return nil
	}
	out := make([]ms.ShardInfo, len(in))
	for i, s := range in {
		out[i] = ms.ShardInfo{ShardRecord: s.Record, Where: s.Where, Start: s.Start, End: s.End, Inodes: s.Inodes, Bytes: s.Bytes}
	}
	return out
}

func toWireFsck(r *ms.FsckReport) *fsckResp {
	out := &fsckResp{Dirs: int64(r.Dirs), Files: int64(r.Files)}
	if r.Violations != nil {
		out.Violations = make([]wireViolation, len(r.Violations))
		for i, v := range r.Violations {
			out.Violations[i] = wireViolation{Path: v.Path, Ino: v.Ino, Problem: v.Problem}
		}
	}
	return out
}

func fromWireFsck(r *fsckResp) *ms.FsckReport {
	out := &ms.FsckReport{Dirs: int(r.Dirs), Files: int(r.Files)}
	if r.Violations != nil {
		out.Violations = make([]ms.Violation, len(r.Violations))
		for i, v := range r.Violations {
			out.Violations[i] = ms.Violation{Path: v.Path, Ino: v.Ino, Problem: v.Problem}
		}
	}
	return out
}
