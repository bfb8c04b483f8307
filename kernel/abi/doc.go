// Package abi is the wire contract between tasks and the GrailOS kernel: the
// fixed message header, operation codes, capability rights, status codes and
// the small payload codec used for structured payloads (boot information,
// spawn requests, events).
//
// Every message that crosses a process boundary is decoded here, so every
// decoder validates what it reads: lengths against the buffer, counts against
// the limits below, and reserved fields against zero. A malformed message is
// an error (ErrBadMessage), never a panic. Each decoder has a fuzz target.
//
// Layout of a message (little endian):
//
//	off size field
//	  0    2 magic   0x4752 ("GR")
//	  2    1 version 1
//	  3    1 op      Op
//	  4    4 len     total length: header + caps + payload
//	  8    4 seq     sender-chosen request id; replies carry the caller's seq
//	 12    2 ncaps   number of capability slots (≤ MaxCaps)
//	 14    2 status  Status, in replies and events
//	 16    4 cap     handle the operation applies to
//	 20    4 zero    reserved, must be 0
//	 24    8 arg0    operation-specific
//	 32    8 arg1    operation-specific
//	 40  8*n caps    n × {handle uint32, rights uint32}
//	  …      payload ≤ MaxPayload bytes
//
// The package imports nothing outside the standard library and has no state.
package abi
