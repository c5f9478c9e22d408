package safetensors

// Dtype names recognised by this package (the byte-sized dtypes of the
// safetensors specification). Sub-byte dtypes such as F4 or F6_E2M3 are
// reported as unknown.
const (
	BOOL   = "BOOL"
	U8     = "U8"
	I8     = "I8"
	F8E5M2 = "F8_E5M2"
	F8E4M3 = "F8_E4M3"
	F8E8M0 = "F8_E8M0"
	I16    = "I16"
	U16    = "U16"
	F16    = "F16"
	BF16   = "BF16"
	I32    = "I32"
	U32    = "U32"
	F32    = "F32"
	F64    = "F64"
	I64    = "I64"
	U64    = "U64"
	C64    = "C64"
)

var dtypeSizes = map[string]int{
	BOOL: 1, U8: 1, I8: 1, F8E5M2: 1, F8E4M3: 1, F8E8M0: 1,
	I16: 2, U16: 2, F16: 2, BF16: 2,
	I32: 4, U32: 4, F32: 4,
	F64: 8, I64: 8, U64: 8, C64: 8,
}

// DTypeSize reports the size in bytes of one element of dtype, and whether
// dtype is known to this package. Dtype names are case-sensitive ("F32").
func DTypeSize(dtype string) (int, bool) {
	n, ok := dtypeSizes[dtype]
	return n, ok
}
