//go:build unix

package gguf

import (
	"fmt"
	"math"
	"os"
	"syscall"
)

func open(path string) (*File, error) {
	osf, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	// The mapping stays valid after the descriptor is closed.
	defer osf.Close()
	st, err := osf.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	if size == 0 {
		// mmap rejects length 0; let Parse report the truncation.
		return Parse(nil, path)
	}
	if size > math.MaxInt {
		return nil, fmt.Errorf("%s: %d bytes is too large to map on this platform", path, size)
	}
	data, err := syscall.Mmap(int(osf.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	f, err := Parse(data, path)
	if err != nil {
		syscall.Munmap(data)
		return nil, err
	}
	f.closer = func() error { return syscall.Munmap(data) }
	return f, nil
}
