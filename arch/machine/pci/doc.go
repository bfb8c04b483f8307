// Package pci owns the model of one PCI function's configuration space:
// the 256-byte type-0 header a driver reads and writes through
// pci_read_config_*/pci_write_config_* (or the machine's equivalent).
//
// A device model declares its identity as data (Header: IDs, class,
// revision, BARs, interrupt pin, capabilities) and gets a Space that
// implements ReadConfig/WriteConfig with the behaviour firmware and
// drivers rely on:
//
//   - Read-only identity fields (vendor, device, class, revision, header
//     type, subsystem IDs, interrupt pin, capability pointer) ignore
//     writes.
//   - Command keeps only the bits the Header declares writable
//     (CommandMask); Status keeps its read-only bits and clears the
//     error bits written with 1 (RW1C).
//   - Each BAR follows the sizing protocol: the bits below the BAR's size
//     read as zero, so writing all-ones and reading back yields the size
//     mask with the type bits (I/O space, 64-bit, prefetchable) in the
//     low bits. A 64-bit memory BAR occupies two slots; its upper dword
//     is fully writable.
//   - The capability list is laid out from the Header's capabilities, in
//     order, each linked to the next; the bytes each capability declares
//     writable are writable, the rest read-only.
//   - Accesses must be 1, 2 or 4 bytes, naturally aligned, inside the
//     256-byte space; anything else reads as all-ones and writes are
//     dropped (what a host bridge does with a malformed cycle), and is
//     counted in Space.BadAccesses.
//
// Invariants: the raw bytes always hold what a read returns; every
// write goes through the per-byte writable mask, so no write can change
// a read-only byte. Space is safe for concurrent use (one mutex, no
// calls out while holding it).
package pci
