// Package safetensors reads and writes files in the safetensors format.
//
// A safetensors file is laid out as
//
//	[8 bytes]  N, the header length, as a little-endian uint64
//	[N bytes]  a UTF-8 JSON object (the header), optionally padded with spaces
//	[rest]     the data section: the raw little-endian bytes of every tensor
//
// The header maps each tensor name to an object
//
//	{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
//
// where begin and end are byte offsets relative to the start of the data
// section. The optional "__metadata__" key holds a string-to-string map.
//
// # Reading
//
// [Open] memory-maps a file (on Unix; other systems read tensors with
// ReadAt) and [Parse] reads a file already in memory. Both validate the
// whole header before returning: the header length against the input size,
// the JSON syntax and UTF-8 encoding, that every dtype is known, that every
// shape is a list of non-negative integers, that data_offsets hold exactly
// dtype size × product(shape) bytes, that no tensor name appears twice, and
// that the byte ranges lie within the data section, do not overlap, and
// cover it contiguously with no gaps or trailing bytes (as the format
// specification requires). Every validation failure is a *[FormatError]
// naming the file, the tensor and the header key at fault. Unknown keys inside
// a tensor entry are ignored, as the reference implementation does.
//
// [File.Raw] returns a tensor's bytes; [File.Float32] decodes F32, F16, BF16
// and F64 tensors to []float32 (F16 conversion handles subnormals,
// infinities and NaN exactly; BF16 is widened by a 16-bit shift).
//
// # Writing
//
// [Write] and [WriteFile] produce a file from a list of [Tensor] values and
// optional metadata. Tensors are stored in sorted name order with contiguous
// data offsets, and the header is padded with spaces to a multiple of 8 bytes
// so that the data section starts 8-byte aligned. [F32Tensor], [F16Tensor] and
// [BF16Tensor] build tensors from []float32; the 16-bit variants round to
// nearest, ties to even.
package safetensors
