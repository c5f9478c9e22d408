package gguf

import "strconv"

// GGMLType is the element type of a tensor, as numbered by ggml.
type GGMLType uint32

// The ggml tensor types with a known storage layout. Numbers missing from
// the sequence (4, 5, 31–33, 36–38) belonged to types that ggml has removed;
// files using them, or numbers above Q1_0, are rejected as unknown.
//
// This package encodes and decodes F32, F16, BF16 and Q8_0. The other types
// can be read as raw bytes ([File.Raw]) and copied ([Tensor.Raw]) but not
// decoded.
const (
	F32     GGMLType = 0
	F16     GGMLType = 1
	Q4_0    GGMLType = 2
	Q4_1    GGMLType = 3
	Q5_0    GGMLType = 6
	Q5_1    GGMLType = 7
	Q8_0    GGMLType = 8
	Q8_1    GGMLType = 9
	Q2_K    GGMLType = 10
	Q3_K    GGMLType = 11
	Q4_K    GGMLType = 12
	Q5_K    GGMLType = 13
	Q6_K    GGMLType = 14
	Q8_K    GGMLType = 15
	IQ2_XXS GGMLType = 16
	IQ2_XS  GGMLType = 17
	IQ3_XXS GGMLType = 18
	IQ1_S   GGMLType = 19
	IQ4_NL  GGMLType = 20
	IQ3_S   GGMLType = 21
	IQ2_S   GGMLType = 22
	IQ4_XS  GGMLType = 23
	I8      GGMLType = 24
	I16     GGMLType = 25
	I32     GGMLType = 26
	I64     GGMLType = 27
	F64     GGMLType = 28
	IQ1_M   GGMLType = 29
	BF16    GGMLType = 30
	TQ1_0   GGMLType = 34
	TQ2_0   GGMLType = 35
	MXFP4   GGMLType = 39
	NVFP4   GGMLType = 40
	Q1_0    GGMLType = 41
)

// ggmlTypes gives each known type's block layout, as ggml defines it. (For
// Q8_1, ggml's 36-byte block is used: two binary16 values and 32 int8.)
//
// typeTraits describes the storage of one ggml type: blocks of blockSize
// elements, each typeSize bytes.
type typeTraits struct {
	name      string
	blockSize int
	typeSize  int
}

var ggmlTypes = map[GGMLType]typeTraits{
	F32:     {"F32", 1, 4},
	F16:     {"F16", 1, 2},
	Q4_0:    {"Q4_0", 32, 18},
	Q4_1:    {"Q4_1", 32, 20},
	Q5_0:    {"Q5_0", 32, 22},
	Q5_1:    {"Q5_1", 32, 24},
	Q8_0:    {"Q8_0", 32, 34},
	Q8_1:    {"Q8_1", 32, 36},
	Q2_K:    {"Q2_K", 256, 84},
	Q3_K:    {"Q3_K", 256, 110},
	Q4_K:    {"Q4_K", 256, 144},
	Q5_K:    {"Q5_K", 256, 176},
	Q6_K:    {"Q6_K", 256, 210},
	Q8_K:    {"Q8_K", 256, 292},
	IQ2_XXS: {"IQ2_XXS", 256, 66},
	IQ2_XS:  {"IQ2_XS", 256, 74},
	IQ3_XXS: {"IQ3_XXS", 256, 98},
	IQ1_S:   {"IQ1_S", 256, 50},
	IQ4_NL:  {"IQ4_NL", 32, 18},
	IQ3_S:   {"IQ3_S", 256, 110},
	IQ2_S:   {"IQ2_S", 256, 82},
	IQ4_XS:  {"IQ4_XS", 256, 136},
	I8:      {"I8", 1, 1},
	I16:     {"I16", 1, 2},
	I32:     {"I32", 1, 4},
	I64:     {"I64", 1, 8},
	F64:     {"F64", 1, 8},
	IQ1_M:   {"IQ1_M", 256, 56},
	BF16:    {"BF16", 1, 2},
	TQ1_0:   {"TQ1_0", 256, 54},
	TQ2_0:   {"TQ2_0", 256, 66},
	MXFP4:   {"MXFP4", 32, 17},
	NVFP4:   {"NVFP4", 64, 36},
	Q1_0:    {"Q1_0", 128, 18},
}

// String returns the ggml name of t ("Q8_0"), or "GGMLType(n)" for a number
// this package does not know.
func (t GGMLType) String() string {
	if tr, ok := ggmlTypes[t]; ok {
		return tr.name
	}
	return "GGMLType(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// Known reports whether this package knows the storage layout of t (and so
// can size, validate and copy tensors of that type).
func (t GGMLType) Known() bool {
	_, ok := ggmlTypes[t]
	return ok
}

// BlockSize returns the number of elements in one storage block of t (1 for
// the plain types, 32 for Q8_0, 256 for the K-quants), or 0 if t is unknown.
func (t GGMLType) BlockSize() int { return ggmlTypes[t].blockSize }

// TypeSize returns the number of bytes of one storage block of t, or 0 if t
// is unknown.
func (t GGMLType) TypeSize() int { return ggmlTypes[t].typeSize }

// codec reports whether this package converts t to and from float32.
func (t GGMLType) codec() bool {
	switch t {
	case F32, F16, BF16, Q8_0:
		return true
	}
	return false
}

// ValueType is the type of a metadata value, as numbered by GGUF.
type ValueType uint32

// The GGUF metadata value types.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12

	// typeInvalid is the Type of the zero Value.
	typeInvalid ValueType = ^ValueType(0)
)

var valueTypeNames = [...]string{
	TypeUint8:   "UINT8",
	TypeInt8:    "INT8",
	TypeUint16:  "UINT16",
	TypeInt16:   "INT16",
	TypeUint32:  "UINT32",
	TypeInt32:   "INT32",
	TypeFloat32: "FLOAT32",
	TypeBool:    "BOOL",
	TypeString:  "STRING",
	TypeArray:   "ARRAY",
	TypeUint64:  "UINT64",
	TypeInt64:   "INT64",
	TypeFloat64: "FLOAT64",
}

// String returns the GGUF name of t ("UINT32"), "invalid" for the type of
// the zero Value, or "ValueType(n)" for an unknown number.
func (t ValueType) String() string {
	if t == typeInvalid {
		return "invalid"
	}
	if int64(t) < int64(len(valueTypeNames)) {
		return valueTypeNames[t]
	}
	return "ValueType(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// valid reports whether t is one of the 13 GGUF value types.
func (t ValueType) valid() bool { return t <= TypeFloat64 }

// scalarSize is the encoded size of a fixed-size scalar, 0 for STRING and
// ARRAY.
func (t ValueType) scalarSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// minSize is the smallest encoded size of a value of type t: a string is at
// least its 8-byte length, an array its 4-byte element type and 8-byte count.
func (t ValueType) minSize() int {
	switch t {
	case TypeString:
		return 8
	case TypeArray:
		return 12
	}
	return t.scalarSize()
}
