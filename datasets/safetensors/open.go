package safetensors

import (
	"fmt"
	"io"
	"os"
)

// Open opens and validates the safetensors file at path. On Unix systems the
// file is memory-mapped read-only and Raw returns slices of the mapping; on
// other systems tensors are read with ReadAt on demand. The caller must call
// Close when done.
//
// The file must not be truncated or modified while open: with a mapping,
// accessing data beyond a truncated end faults.
func Open(path string) (*File, error) {
	return open(path)
}

// openReaderAt opens path without mapping it: the header is read and
// validated up front and tensors are read with ReadAt. It is the
// implementation of Open on systems without mmap, and is available (and
// tested) everywhere.
func openReaderAt(path string) (*File, error) {
	osf, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	f, err := readerAtFile(osf, path)
	if err != nil {
		osf.Close()
		return nil, err
	}
	f.closer = osf.Close
	return f, nil
}

func readerAtFile(osf *os.File, path string) (*File, error) {
	st, err := osf.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	var prefix [8]byte
	if size >= 8 {
		if _, err := osf.ReadAt(prefix[:], 0); err != nil {
			return nil, fmt.Errorf("%s: reading header length: %w", path, eofUnexpected(err))
		}
	}
	n, err := headerLength(size, prefix[:], path)
	if err != nil {
		return nil, err
	}
	header := make([]byte, n)
	if _, err := osf.ReadAt(header, 8); err != nil {
		return nil, fmt.Errorf("%s: reading header: %w", path, eofUnexpected(err))
	}
	f, err := parseHeader(header, size-8-n, path)
	if err != nil {
		return nil, err
	}
	f.ra = osf
	return f, nil
}

func eofUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
