package shm

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrNotSealed is returned by Map when a memory object lacks the
// F_SEAL_SHRINK and F_SEAL_GROW seals (or is not a memfd at all).
var ErrNotSealed = errors.New("memory object not sealed")

// MaxSize bounds the objects Map accepts. It is far beyond any ring or
// buffer pool we map, and keeps every offset inside a uint32; a bigger
// object from a peer is refused rather than mapped blindly.
const MaxSize = 1<<32 - 1

// requiredSeals are the seals Map insists on before mapping an fd.
const requiredSeals = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW

// createSeals are the seals Create applies. F_SEAL_SEAL stops anyone from
// adding F_SEAL_WRITE later, which would break our own writable mappings.
const createSeals = requiredSeals | unix.F_SEAL_SEAL

// PageRound rounds n up to a multiple of the system page size.
// It returns 0 when the result would not fit in an int.
func PageRound(n int) int {
	p := os.Getpagesize()
	if n > math.MaxInt-p {
		return 0
	}
	return (n + p - 1) &^ (p - 1)
}

// Create makes a sealed memfd of at least size bytes. The size is rounded
// up to a multiple of the page size; size <= 0 is an error. The name is for
// debugging only (it shows in /proc/PID/maps as "memfd:NAME").
func Create(name string, size int) (*os.File, error) {
	if size <= 0 {
		return nil, fmt.Errorf("shm: create %q: size %d must be positive", name, size)
	}
	rounded := PageRound(size)
	if rounded == 0 || rounded > MaxSize {
		return nil, fmt.Errorf("shm: create %q: size %d too large", name, size)
	}
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("shm: memfd_create %q: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), "memfd:"+name)
	if err := unix.Ftruncate(fd, int64(rounded)); err != nil {
		f.Close()
		return nil, fmt.Errorf("shm: ftruncate %q to %d: %w", name, rounded, err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, createSeals); err != nil {
		f.Close()
		return nil, fmt.Errorf("shm: seal %q: %w", name, err)
	}
	return f, nil
}

// ReadOnly returns a new fd for the same memory object, opened O_RDONLY.
// The kernel refuses PROT_WRITE mappings (and later mprotect to writable)
// of it, so it is safe to hand to a peer that must only read. It reopens
// the object through /proc/self/fd, so procfs must be mounted.
func ReadOnly(f *os.File) (*os.File, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("shm: read-only %s: %w", f.Name(), err)
	}
	var ro *os.File
	var openErr error
	err = sc.Control(func(fd uintptr) {
		path := "/proc/self/fd/" + strconv.Itoa(int(fd))
		ro, openErr = os.OpenFile(path, os.O_RDONLY, 0) // os adds O_CLOEXEC
	})
	if err == nil {
		err = openErr
	}
	if err != nil {
		return nil, fmt.Errorf("shm: read-only %s: %w", f.Name(), err)
	}
	return ro, nil
}

// Seals returns the seals set on f (F_GET_SEALS). It fails for fds that do
// not support sealing.
func Seals(f *os.File) (int, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var seals int
	var sealErr error
	if err := sc.Control(func(fd uintptr) {
		seals, sealErr = unix.FcntlInt(fd, unix.F_GET_SEALS, 0)
	}); err != nil {
		return 0, err
	}
	return seals, sealErr
}

// Region is a MAP_SHARED mapping of a memory object.
type Region struct {
	mu       sync.Mutex // leaf lock; guards mem
	mem      []byte
	size     int
	writable bool
}

// Map maps the whole memory object f, read-write if writable is true and
// read-only otherwise. It fails with an error wrapping ErrNotSealed if the
// object is not sealed against shrinking and growing. f may be closed after
// Map returns; the mapping keeps the object alive.
func Map(f *os.File, writable bool) (*Region, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("shm: map %s: %w", f.Name(), err)
	}
	var r *Region
	var mapErr error
	if err := sc.Control(func(fd uintptr) { r, mapErr = mapFd(int(fd), writable) }); err != nil {
		return nil, fmt.Errorf("shm: map %s: %w", f.Name(), err)
	}
	if mapErr != nil {
		return nil, fmt.Errorf("shm: map %s: %w", f.Name(), mapErr)
	}
	return r, nil
}

func mapFd(fd int, writable bool) (*Region, error) {
	// Check the seals before trusting the size: once SHRINK and GROW are
	// set the size we read below can never change.
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil {
		return nil, fmt.Errorf("%w (F_GET_SEALS: %v)", ErrNotSealed, err)
	}
	if seals&requiredSeals != requiredSeals {
		return nil, fmt.Errorf("%w (seals %#x, need %#x)", ErrNotSealed, seals, requiredSeals)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("fstat: %w", err)
	}
	if st.Size <= 0 || st.Size > MaxSize {
		return nil, fmt.Errorf("size %d out of range (1..%d)", st.Size, MaxSize)
	}
	prot := unix.PROT_READ
	if writable {
		prot |= unix.PROT_WRITE
	}
	mem, err := unix.Mmap(fd, 0, int(st.Size), prot, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %d bytes (writable=%v): %w", st.Size, writable, err)
	}
	return &Region{mem: mem, size: int(st.Size), writable: writable}, nil
}

// Bytes returns the mapped memory, or nil after Close.
func (r *Region) Bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mem
}

// Size returns the mapping's length in bytes (the object's size).
func (r *Region) Size() int { return r.size }

// Writable reports whether the mapping was made with PROT_WRITE.
func (r *Region) Writable() bool { return r.writable }

// Close unmaps the region. It is idempotent.
func (r *Region) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mem == nil {
		return nil
	}
	err := unix.Munmap(r.mem)
	r.mem = nil
	if err != nil {
		return fmt.Errorf("shm: munmap: %w", err)
	}
	return nil
}
