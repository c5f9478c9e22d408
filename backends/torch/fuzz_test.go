package torch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/modes"
	"github.com/evalctl/evalctl/datasets/safetensors"
)

func answerBlob(t testing.TB, meta string, sel bool) []byte {
	ts := []safetensors.Tensor{
		safetensors.F32Tensor("out", []int{2, 2, 4}, make([]float32, 16)),
		safetensors.F32Tensor("decode_out", []int{2, 4}, make([]float32, 8)),
	}
	if sel {
		b := make([]byte, 4*2*2*3)
		for i := range b {
			b[i] = 0xff
		}
		b[0], b[1], b[2], b[3] = 1, 0, 0, 0
		ts = append(ts, safetensors.Tensor{Name: "selected", DType: safetensors.I32, Shape: []int{4, 3}, Data: b[:48]})
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, ts, map[string]string{"response": meta}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The /attention answer decoder never panics and accepts only answers of
// the request's shape.
func FuzzDecodeAttention(f *testing.F) {
	req := &modes.Request{Shape: attention.Shape{Heads: 2, KVHeads: 2, HeadDim: 4}, M: 2, RecordSelection: true}
	f.Add(answerBlob(f, `{"prefill_ms":1.5,"block_size":64,"prefill":{"calls":1,"tokens":3}}`, true))
	f.Add(answerBlob(f, `{}`, false))
	f.Add([]byte("not safetensors"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeAttention(data, req, "w")
		if err != nil {
			return
		}
		if len(r.Out) != 16 || len(r.DecodeOut) != 8 {
			t.Fatalf("accepted an answer of the wrong shape: %d, %d", len(r.Out), len(r.DecodeOut))
		}
		for _, row := range r.Prefill.Selected {
			for _, b := range row {
				if b < 0 {
					t.Fatalf("negative block %d kept", b)
				}
			}
		}
	})
}

func TestDecodeAttention(t *testing.T) {
	req := &modes.Request{Shape: attention.Shape{Heads: 2, KVHeads: 2, HeadDim: 4}, M: 2, RecordSelection: true}
	r, err := decodeAttention(answerBlob(t, `{"prefill_ms":1.5,"decode_ms":0.25,"block_size":64,"baseline_prefill_ms":3,"device":"cuda:0","peak_device_bytes":7,"prefill":{"calls":1,"tokens":3,"flops":10}}`, true), req, "w")
	if err != nil {
		t.Fatal(err)
	}
	if r.PrefillTime.Microseconds() != 1500 || r.DecodeTime.Microseconds() != 250 || r.BaselinePrefillTime.Milliseconds() != 3 ||
		r.Device != "cuda:0" || r.PeakDeviceBytes != 7 || r.Prefill.Tokens != 3 || r.Prefill.FLOPs != 10 || r.BlockSize != 64 {
		t.Fatalf("decoded %+v", r)
	}
	if got := fmt.Sprint(r.Prefill.Selected); got != "[[1] [] [] []]" {
		t.Fatalf("selected %s", got)
	}
	if _, err := decodeAttention(answerBlob(t, `{`, false), req, "w"); err == nil || !strings.Contains(err.Error(), "metadata") {
		t.Fatalf("bad metadata: %v", err)
	}
}

func FuzzDeviceList(f *testing.F) {
	for _, s := range []string{"cpu", "cuda:0,cuda:1", "cpu,cpu", "cuda", "gpu", "cuda:x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ds, err := deviceList(s)
		if err != nil {
			return
		}
		for _, d := range ds {
			if d != "cpu" && !(strings.HasPrefix(d, "cuda:") && isDigits(d[5:])) {
				t.Fatalf("%q gave device %q", s, d)
			}
		}
	})
}

func TestDeviceList(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"cpu", "[cpu]"}, {"cuda:0, cuda:3", "[cuda:0 cuda:3]"}, {"cpu,cpu", "[cpu cpu]"},
		{"gpu", "error"}, {"cuda:", "error"}, {"", "error"},
	} {
		ds, err := deviceList(c.in)
		got := fmt.Sprint(ds)
		if err != nil {
			got = "error"
		}
		if got != c.want {
			t.Errorf("deviceList(%q) = %s (%v), want %s", c.in, got, err, c.want)
		}
	}
}

func TestEncodeAttentionRoundTrip(t *testing.T) {
	req := &modes.Request{Shape: attention.Shape{Heads: 4, KVHeads: 2, HeadDim: 2}, K: []float32{1, 2, 3, 4, 5, 6, 7, 8}, V: []float32{8, 7, 6, 5, 4, 3, 2, 1},
		M: 1, Q: []float32{1, 0, 0, 1, 1, 1, -1, 2}, DecodeRepeats: 3, Baseline: true}
	blob, err := encodeAttention(map[string]any{"mode": "sparse", "topk": 4}, req, 2)
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Parse(blob, "x")
	if err != nil {
		t.Fatal(err)
	}
	k, shape, err := f.Float32("k")
	if err != nil || fmt.Sprint(shape) != "[2 2 2]" || fmt.Sprint(k) != fmt.Sprint(req.K) {
		t.Fatalf("k %v %v %v", k, shape, err)
	}
	var meta attnRequest
	if err := json.Unmarshal([]byte(f.Metadata()["request"]), &meta); err != nil || meta.DecodeRepeats != 3 || !meta.Baseline || meta.Attention["mode"] != "sparse" {
		t.Fatalf("metadata %+v %v", meta, err)
	}
}

func BenchmarkEncodeAttention(b *testing.B) {
	sh := attention.Shape{Heads: 32, KVHeads: 2, HeadDim: 128}
	n := 8192
	req := &modes.Request{Shape: sh, K: make([]float32, sh.KVSize(n)), V: make([]float32, sh.KVSize(n)), M: n, Q: make([]float32, sh.QSize(n))}
	b.SetBytes(int64(4 * (2*sh.KVSize(n) + sh.QSize(n))))
	for i := 0; i < b.N; i++ {
		if _, err := encodeAttention(map[string]any{"mode": "dense"}, req, n); err != nil {
			b.Fatal(err)
		}
	}
}

// WorkerDir extracts the worker's Python package once.
func ExampleWorkerDir() {
	dir, err := WorkerDir()
	if err != nil {
		panic(err)
	}
	_, err = os.Stat(filepath.Join(dir, "evalctl_torch", "__main__.py"))
	fmt.Println(err == nil)
	// Output: true
}
