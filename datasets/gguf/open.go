package gguf

import (
	"fmt"
	"os"
)

// Open opens and validates the GGUF file at path. On Unix systems the file
// is memory-mapped read-only, so that opening a large model costs only the
// parsing of its header and Raw returns slices of the mapping; on other
// systems the file is read into memory. The caller must call Close when
// done.
//
// The file must not be truncated or modified while open: with a mapping,
// accessing data beyond a truncated end faults.
func Open(path string) (*File, error) {
	return open(path)
}

// readAll opens path by reading it into memory: the implementation of Open
// on systems without mmap, available (and tested) everywhere.
func readAll(path string) (*File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path)
}
