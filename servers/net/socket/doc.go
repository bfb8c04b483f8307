// Package socket is the socket session contract: how a personality (or any
// task) uses the network stack server's TCP/UDP sockets. It is the one place
// the contract is written down; the server (servers/net/netserver) and the
// native personality (personalities/native) both build on this package.
//
// # Setup
//
// The client calls the net server's `net` endpoint with payload {OpOpen}.
// The reply carries one Memory capability (read/write) and no payload. The
// memory holds, in order:
//
//	0    64-byte status block (little endian):
//	       0  u32 magic "SOC1"
//	       4  u32 requests refused (descriptor not a slot, message < 24 bytes)
//	       8  u32 sockets open in this session
//	64   a ring.Session with Layout (side A = the server):
//	       server Rx = requests, client → server
//	       server Tx = replies, server → client
//
// After the kernel call that opens it, nothing goes through the kernel:
// every operation, control and data alike, is one request message in a ring
// slot, answered by one reply message (a ring round trip costs microseconds,
// a kernel call ~150 µs). Bulk data rides in the same messages, up to
// MaxPayload bytes each, and a client may have many requests in flight.
//
// # Messages
//
// A slot holds one message: a 24-byte header, then Len payload bytes.
//
//	0  u8  op
//	1  u8  flags   (0)
//	2  u16 status  (replies: 0 or a Linux errno number; requests: 0)
//	4  u32 handle  (the socket; OpSocket and OpAccept replies: the new one)
//	8  u32 tag     (chosen by the client, echoed in the reply)
//	12 u32 len     (payload bytes; 24+len must equal the descriptor's Len)
//	16 u64 arg
//
// Addresses are 20 bytes: u8 family (4 or 6), u8 0, u16 port, 16 address
// bytes (IPv4 in the first four, the rest zero). Ops, with their request and
// reply fields:
//
//	OpSocket   arg = kind | family<<8            → handle
//	OpBind     payload = addr                    → payload = local addr
//	OpListen   arg = backlog (1..MaxBacklog)     → -
//	OpAccept   (waits)                           → handle, payload = local, remote
//	OpConnect  payload = addr (waits)            → payload = local, remote
//	OpSend     payload = data (waits for room)   → arg = bytes taken
//	OpSendTo   payload = addr, data (datagram)   → arg = bytes taken
//	OpRecv     arg = max bytes (waits)           → payload = data; stream: 0 bytes = end of stream
//	                                               datagram: payload = addr, data; arg = datagram size
//	OpShutdown arg = ShutRead|ShutWrite          → -
//	OpClose                                      → -  (pending requests answered ECANCELED)
//	OpSetOpt   arg = opt<<32 | value             → -
//	OpAddr                                       → payload = local, remote
//	OpCancel   arg = tag of a pending request    → no reply of its own
//
// # Rules
//
//   - Every request except OpCancel gets exactly one reply, with its tag. A
//     request that waits (accept, connect, recv, a send into a full buffer)
//     is answered when it completes; requests on one socket complete in order
//     per direction (receive side: recv/accept; send side: send/connect).
//   - Deadlines are the client's: when one passes it sends OpCancel naming
//     the waiting request's tag, and that request is answered at once with
//     ECANCELED — unless it already completed, in which case its reply
//     (possibly with data) is already on its way. Nothing is ever lost.
//   - The server validates everything: a descriptor that does not name a
//     slot, or a message shorter than a header, is refused and counted (no
//     reply is possible); a header whose len disagrees with the descriptor
//     gets EINVAL; an unknown or closed handle EBADF (handles are never
//     reused within a session); a bad op, kind, family, address, option or
//     backlog EINVAL; an unknown option ENOPROTOOPT; more than MaxSockets
//     sockets EMFILE. Nothing a client writes can crash the server.
//   - The server keeps a request's slot until it answers it (that bounds
//     what one client can make it hold to Layout.Slots requests) and
//     returns the slot to the free queue with its reply. A client that
//     stops taking replies for ReplyTimeout loses its session.
//   - When the net server restarts, sessions are gone: the client opens a
//     new one (init tells it, see sys.Task.OnPeer).
package socket
