// Package wire owns the machine's wire: a TAP device inside a network
// namespace created for it, whose ordinary Linux stack is the real peer
// of the emulated NIC (ping, curl, nginx and iperf3 run there with
// `ip netns exec <name> …`).
//
// Open creates the namespace (unshare on a dedicated locked thread, then
// a bind mount at /run/netns/<name>, as iproute2 does), opens
// /dev/net/tun from inside it so that the TAP is born there, returns the
// thread to its namespace, and configures the peer's side over netlink
// (vishvananda/netlink, no shelled-out `ip`): MTU, optional MAC,
// addresses (default 192.0.2.1/24; test networks use only documentation
// ranges and are never routed outside), link up, loopback up. The TAP
// descriptor stays in the machine process. Frames are whole Ethernet
// frames without FCS (IFF_TAP|IFF_NO_PI). IFF_VNET_HDR, and with it
// checksum offload and TSO/GSO towards the peer, is left for later: for
// now the TAP carries one MTU-sized frame per read or write.
//
// Close closes the TAP (a non-persistent TAP dies with its last
// descriptor) and unmounts and removes the namespace, which the kernel
// frees with its last reference. No reference is kept besides the bind
// mount: the namespace handle used for configuration is closed at Open.
//
// Invariants: Open leaves nothing behind on failure; no thread of the
// process other than Open's own (discarded if it cannot return) ever
// enters the peer namespace. Send and Receive may run concurrently (one
// writer and one reader at a time each); Stats and Close from anywhere.
package wire
