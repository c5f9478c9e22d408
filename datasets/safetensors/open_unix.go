//go:build unix

package safetensors

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
	if size < 8 {
		// Too short to map usefully (mmap rejects length 0); let the
		// validator produce the truncation error.
		buf := make([]byte, size)
		if _, err := osf.ReadAt(buf, 0); err != nil {
			return nil, fmt.Errorf("%s: %w", path, eofUnexpected(err))
		}
		_, err := headerLength(size, buf, path)
		return nil, err
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
