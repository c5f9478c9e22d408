// Package gguf reads and writes GGUF files, the model container of
// llama.cpp and ggml.
//
// # Layout
//
// A GGUF file is little-endian throughout:
//
//	"GGUF"                      magic, bytes 0x47 0x47 0x55 0x46
//	uint32 version              3 (version 2 has the same layout)
//	uint64 tensor_count
//	uint64 metadata_kv_count
//	metadata_kv_count × {       the metadata, in order
//	    string key
//	    uint32 value_type       0..12, see ValueType
//	    value
//	}
//	tensor_count × {            the tensor infos, in order
//	    string name
//	    uint32 n_dims           1..4
//	    n_dims × uint64 dims    innermost dimension first
//	    uint32 type             see GGMLType
//	    uint64 offset           relative to the data section
//	}
//	padding                     zeros up to a multiple of the alignment
//	data section                each tensor's bytes, at its offset
//
// A string is a uint64 byte length followed by that many bytes of UTF-8 (no
// terminator). A value of type ARRAY is a uint32 element type, a uint64
// count and the elements, encoded like values of that type without a type
// tag; an element type of ARRAY makes an array of arrays, each element then
// carrying its own element type and count. BOOL is one byte, 0 or 1.
//
// The alignment is the metadata value "general.alignment" (a UINT32 power
// of two) if present, else 32. The data section starts at the first
// multiple of the alignment after the tensor infos, and every tensor's
// offset is a multiple of it.
//
// # Dimension order
//
// GGUF stores dimensions innermost first: dims[0] is the length of a row,
// the fastest-varying index. That is the reverse of the numpy/PyTorch
// shape: a PyTorch weight of shape [4096, 11008] is stored with dims
// [11008, 4096]. [TensorInfo.Dims] keeps the GGUF order as stored;
// [TensorInfo.Shape] and [Tensor.Shape] use numpy order. In both views the
// elements are in the same row-major sequence, so [File.Float32] returns
// them in numpy order without any transposition.
//
// # Tensor types
//
// F32, F16, BF16 and Q8_0 tensors are decoded by [File.Float32] and
// encoded by [Write]. A Q8_0 tensor is a sequence of 34-byte blocks, each
// holding 32 consecutive elements of a row as a binary16 scale d and 32
// int8 values q, with x = d·q; the row length must therefore be a multiple
// of 32. The other types ggml defines (Q4_0, Q4_K, IQ2_XXS ...) are known
// by name and block layout: files holding them parse, their layout is
// validated and [File.Raw] returns their bytes, which [Tensor.Raw] can copy
// into a new file, but File.Float32 reports "unsupported tensor type Q4_K
// for tensor ..." (wrapping errors.ErrUnsupported). Type numbers ggml has
// retired or that this package does not know are rejected by Parse, since
// the size of such a tensor cannot be known.
//
// # Reading
//
// [Open] memory-maps a file on Unix (reads it whole elsewhere); [Parse]
// parses bytes already in memory. Both validate everything before
// returning, and every failure is a *[FormatError] naming the file, the
// metadata key or tensor at fault, the byte offset and the problem:
//
//   - truncation anywhere: in the header, a string, an array, a tensor
//     info, or tensor data beyond the end of the input;
//   - impossible counts and lengths, checked against the bytes remaining
//     before anything is allocated, so a 1 KB file claiming 2^60 entries
//     fails at once; arrays nested more than [MaxArrayDepth] deep;
//   - a wrong magic, a version other than 2 or 3 (big-endian files are
//     recognised and refused);
//   - keys, string values and tensor names that are not valid UTF-8;
//     duplicate keys; duplicate tensor names;
//   - unknown value types or array element types; BOOL bytes other than 0
//     or 1; a "general.alignment" that is not a UINT32 power of two;
//   - n_dims of 0 or above 4; dimensions whose element count (ignoring
//     zero dimensions, which are allowed) or byte size overflows; a row
//     length that is not a multiple of the type's block size (32 for
//     Q8_0); unknown tensor types;
//   - offsets that are not multiples of the alignment, and tensor data
//     ranges that overlap (empty tensors overlap nothing).
//
// Decisions beyond the format's letter:
//
//   - In a file with tensors, the padding before the data section and the
//     padding after each tensor's data, up to the next multiple of the
//     alignment, must lie within the file: ggml and the gguf Python package
//     write that padding after every tensor, the last included, and ggml's
//     loader reads it. This makes every truncation of such a file
//     detectable, and bounds the alignment by the file size. A file without
//     tensors needs no data section at all. The padding bytes' values are
//     not checked.
//   - Tensors need not be in offset order and may leave gaps; ggml's own
//     reader is stricter and wants them contiguous, in order.
//   - Metadata values keep their exact GGUF type. Arrays are held as typed
//     Go slices ([]string, []float32 ...) rather than one Value per
//     element, which keeps a 150,000-token vocabulary cheap.
//
// Metadata is available in file order in [File.Metadata] and by key through
// [File.Get] and the typed accessors [File.String], [File.Uint],
// [File.Int], [File.Float], [File.Bool], [File.Strings], [File.Float32s] and
// [File.Ints]. The numeric accessors accept any type that holds the value
// exactly or sensibly (Uint accepts a non-negative INT32, Float an integer);
// a missing key or a value of another type is a *[KeyError] naming the key,
// the type wanted and the type found.
//
// # Writing
//
// [Write] and [WriteFile] produce version 3 files: metadata and tensors in
// the order given, tensor data packed in that order, each tensor padded
// with zeros to the alignment (general.alignment if given, else 32). A file
// without tensors ends right after its header, with no data section.
// [Tensor.Data] is converted by the writer:
//
//   - F16 and BF16 round to nearest, ties to even; F16 overflows to ±Inf
//     from 65520 up; NaN stays NaN.
//   - Q8_0 takes, for each block of 32, amax = max |x|, and as its scale
//     d the smallest binary16 value with 127·d >= amax (amax/127 rounded
//     up to binary16, rather than to nearest, so that no |x/d| exceeds
//     127), then q = round(x/d), halves away from zero; d = 0 gives q = 0.
//     Every element is then within d/2 of its original, and values that are
//     integer multiples of a binary16 d, with some |x| = 127·d, are exact.
//     NaN, ±Inf and magnitudes above 127 × 65504 cannot be represented and
//     are an error. (ggml's reference quantizer rounds the scale to nearest
//     and computes q from the unrounded scale, so its bytes can differ from
//     this package's by one step in q or one ulp in d; both are valid Q8_0.)
//
// [Tensor.Raw] writes already-encoded bytes of any known type instead.
package gguf
