package torch

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"

	"unsafe"

	"github.com/evalctl/evalctl/backends/modes"
	"github.com/evalctl/evalctl/datasets/safetensors"
)

func fsReadFile(fsys fs.FS, name string) ([]byte, error) { return fs.ReadFile(fsys, name) }

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// f32Bytes is the little-endian bytes of x: a view on little-endian hosts
// (no copy of large q/k/v), a converted copy elsewhere.
func f32Bytes(x []float32) []byte {
	if len(x) == 0 {
		return nil
	}
	if littleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
	}
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// attnRequest is the JSON of an /attention request's metadata.
type attnRequest struct {
	Attention       map[string]any `json:"attention"`
	DecodeRepeats   int            `json:"decode_repeats"`
	RecordSelection bool           `json:"record_selection"`
	Baseline        bool           `json:"baseline"`
}

func encodeAttention(attn map[string]any, req *modes.Request, n int) ([]byte, error) {
	s := req.Shape
	kv := []int{n, s.KVHeads, s.HeadDim}
	ts := []safetensors.Tensor{
		{Name: "k", DType: safetensors.F32, Shape: kv, Data: f32Bytes(req.K)},
		{Name: "v", DType: safetensors.F32, Shape: kv, Data: f32Bytes(req.V)},
		{Name: "q", DType: safetensors.F32, Shape: []int{req.M, s.Heads, s.HeadDim}, Data: f32Bytes(req.Q)},
	}
	if req.KNoPE != nil {
		ts = append(ts, safetensors.Tensor{Name: "knope", DType: safetensors.F32, Shape: kv, Data: f32Bytes(req.KNoPE)})
	}
	if req.QNoPE != nil {
		ts = append(ts, safetensors.Tensor{Name: "qnope", DType: safetensors.F32, Shape: []int{req.M, s.Heads, s.HeadDim}, Data: f32Bytes(req.QNoPE)})
	}
	meta, err := json.Marshal(attnRequest{Attention: attn, DecodeRepeats: max(req.DecodeRepeats, 1), RecordSelection: req.RecordSelection, Baseline: req.Baseline})
	if err != nil {
		return nil, err
	}
	size := 1 << 16
	for _, t := range ts {
		size += len(t.Data)
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	if err := safetensors.Write(buf, ts, map[string]string{"request": string(meta)}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// attnResponse is the JSON of an /attention answer's metadata.
type attnResponse struct {
	PrefillMS         float64 `json:"prefill_ms"`
	DecodeMS          float64 `json:"decode_ms"`
	Prefill           stats   `json:"prefill"`
	Decode            stats   `json:"decode"`
	CacheBytes        int64   `json:"cache_bytes"`
	BlockSize         int     `json:"block_size"`
	Device            string  `json:"device"`
	BaselinePrefillMS float64 `json:"baseline_prefill_ms"`
	BaselineDecodeMS  float64 `json:"baseline_decode_ms"`
	PeakDeviceBytes   int64   `json:"peak_device_bytes"`
}

func decodeAttention(data []byte, req *modes.Request, who string) (*modes.Response, error) {
	bad := func(format string, a ...any) error {
		return &workerError{worker: who, status: 200, msg: "bad /attention answer: " + fmt.Sprintf(format, a...)}
	}
	f, err := safetensors.Parse(data, "answer")
	if err != nil {
		return nil, bad("%v", err)
	}
	var meta attnResponse
	if err := json.Unmarshal([]byte(f.Metadata()["response"]), &meta); err != nil {
		return nil, bad("metadata: %v", err)
	}
	s := req.Shape
	out, shape, err := f.Float32("out")
	if err != nil || len(out) != s.QSize(req.M) {
		return nil, bad("out %v: %v", shape, err)
	}
	dout, _, err := f.Float32("decode_out")
	if err != nil || len(dout) != s.QSize(1) {
		return nil, bad("decode_out: %v", err)
	}
	r := &modes.Response{
		Out: out, DecodeOut: dout, BlockSize: meta.BlockSize, CacheBytes: meta.CacheBytes,
		PrefillTime: ms(meta.PrefillMS), DecodeTime: ms(meta.DecodeMS),
		BaselinePrefillTime: ms(meta.BaselinePrefillMS), BaselineDecodeTime: ms(meta.BaselineDecodeMS),
		PeakDeviceBytes: meta.PeakDeviceBytes, Device: meta.Device,
	}
	meta.Prefill.addTo(&r.Prefill)
	meta.Decode.addTo(&r.Decode)
	if req.RecordSelection {
		info, ok := f.Info("selected")
		if !ok || info.DType != safetensors.I32 || len(info.Shape) != 2 {
			return nil, bad("selected missing or not int32 [rows, width]")
		}
		raw, err := f.Raw("selected")
		if err != nil {
			return nil, bad("%v", err)
		}
		rows, width := info.Shape[0], info.Shape[1]
		r.Prefill.RecordSelection = true
		r.Prefill.Selected = make([][]int32, rows)
		for i := 0; i < rows; i++ {
			var row []int32
			for j := 0; j < width; j++ {
				v := int32(binary.LittleEndian.Uint32(raw[4*(i*width+j):]))
				if v < 0 {
					break
				}
				row = append(row, v)
			}
			r.Prefill.Selected[i] = row
		}
	}
	return r, nil
}
