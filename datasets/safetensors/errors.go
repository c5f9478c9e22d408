package safetensors

import (
	"errors"
	"strconv"
)

// ErrNotFound is wrapped by the errors of [File.Raw] and [File.Float32] when
// the file has no tensor of the requested name.
var ErrNotFound = errors.New("tensor not found")

// ErrClosed is wrapped by the errors of [File.Raw] and [File.Float32] after
// [File.Close].
var ErrClosed = errors.New("file already closed")

// A FormatError reports a malformed safetensors file.
type FormatError struct {
	File   string // the path given to Open or the name given to Parse
	Tensor string // the tensor at fault; "" for a file-level problem
	// Key is the header key or file part at fault: "dtype", "shape",
	// "data_offsets", "__metadata__", "name" (duplicate or reserved tensor
	// name), "header" (JSON, UTF-8 or structure of the header) or
	// "header length" (the 8-byte prefix), or "data" (bytes of the data
	// section that no tensor covers, when there are no tensors at all).
	Key string
	Msg string // the detail; it mentions Key
}

func (e *FormatError) Error() string {
	s := e.File + ": "
	switch e.Key {
	case "header", "header length", "__metadata__", "data":
		// A file-level key; a tensor is named only if one is at fault.
		if e.Tensor == "" {
			break
		}
		fallthrough
	default:
		s += "tensor " + strconv.Quote(e.Tensor) + ": "
	}
	return s + e.Msg
}
