// Package netserver is the network stack server's logic: gVisor's netstack
// (IPv4, IPv6, ARP/NDP, TCP, UDP, ICMP) on one NIC, and the socket sessions
// it serves to personalities (the contract is in servers/net/socket).
//
// Design rules: every socket belongs to one session and is reached only
// through it; nothing the client writes is trusted (package socket says
// what is checked); no request waits by blocking a goroutine — waiting
// requests are queued per socket and retried when netstack's wait queue
// reports the socket ready (Session documents its goroutines and locks).
package netserver
