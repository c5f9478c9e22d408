package gguf

import (
	"errors"
	"strconv"
)

// ErrNotFound is wrapped by the errors of [File.Raw] and [File.Float32]
// for a tensor the file does not have, and by a [KeyError] for a missing
// metadata key.
var ErrNotFound = errors.New("not found")

// ErrClosed is wrapped by the errors of [File.Raw] and [File.Float32] after
// [File.Close].
var ErrClosed = errors.New("file already closed")

// A FormatError reports a malformed GGUF file. Every validation failure of
// [Parse] and [Open] is a *FormatError.
type FormatError struct {
	File string // the path given to Open or the name given to Parse
	// Key is the metadata key at fault, "" if none (or if the key itself
	// could not be read).
	Key string
	// Tensor is the name of the tensor at fault, "" if none (or if the name
	// itself could not be read).
	Tensor string
	// Offset is the byte offset in the file where the fault was found: the
	// start of the field at fault, or of the tensor info or data concerned.
	// Error omits it when negative.
	Offset int64
	Msg    string // what is wrong
}

func (e *FormatError) Error() string {
	s := e.File + ": "
	if e.Key != "" {
		s += "metadata key " + strconv.Quote(e.Key) + ": "
	}
	if e.Tensor != "" {
		s += "tensor " + strconv.Quote(e.Tensor) + ": "
	}
	s += e.Msg
	if e.Offset >= 0 {
		s += " (at byte " + strconv.FormatInt(e.Offset, 10) + ")"
	}
	return s
}

// A KeyError reports a metadata key that a [File] accessor (File.String,
// File.Uint ...) could not return: the key is missing, or its value has
// another type. The As methods of [Value] return KeyErrors with empty File
// and Key. A missing key's KeyError wraps [ErrNotFound].
type KeyError struct {
	File string // the file's name; "" from a Value method
	Key  string // the key asked for; "" from a Value method
	Want string // what the accessor accepts, e.g. "STRING" or "an integer"
	// Have is the type found, e.g. "UINT32" or "ARRAY[STRING]"; "" when the
	// key is missing.
	Have string
	Msg  string // further detail, such as "value -3 is negative"; may be ""
}

func (e *KeyError) Error() string {
	s := ""
	if e.File != "" {
		s = e.File + ": "
	}
	if e.Key != "" || e.File != "" {
		s += "metadata key " + strconv.Quote(e.Key) + ": "
	}
	if e.Have == "" {
		return s + "not found (want " + e.Want + ")"
	}
	s += "have " + e.Have
	if e.Msg != "" {
		s += ", " + e.Msg
	}
	return s + ", want " + e.Want
}

// Unwrap returns ErrNotFound for a missing key, nil otherwise.
func (e *KeyError) Unwrap() error {
	if e.Have == "" {
		return ErrNotFound
	}
	return nil
}
