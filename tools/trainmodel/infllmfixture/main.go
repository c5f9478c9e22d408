// Command infllmfixture writes the test fixture of tools/trainmodel/infllm.py:
// seeded random queries, keys and values, pushed through the Go reference
// InfLLM-V2 sparse attention (backends/attention.NewSparse) as one prefill of
// every token, with the output and the blocks it selected.
//
//	go run ./tools/trainmodel/infllmfixture -out tools/trainmodel/testdata/infllm_fixture.json
//
// The inputs are multiples of 1/32 (int8 times InputScale), so that they are
// exact in any float format and small to store; the output is float32. Both
// are stored base64-encoded, little-endian, token-major as the Go package
// lays them out: q and out [N][H][D], k and v [N][KV][D]. Selected[t*KV+g]
// lists the sorted blocks that query token t, KV head g attended.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"github.com/evalctl/evalctl/backends/attention"
)

// Config is attention.SparseConfig in the document's names.
type Config struct {
	BlockSize    int    `json:"block_size"`
	KernelSize   int    `json:"kernel_size"`
	KernelStride int    `json:"kernel_stride"`
	InitBlocks   int    `json:"init_blocks"`
	LocalBlocks  int    `json:"local_blocks"`
	TopK         int    `json:"topk"`
	LSE          string `json:"lse"`
	UseNoPE      bool   `json:"use_nope"`
}

// Case is one fixture case.
type Case struct {
	Name       string    `json:"name"`
	Seed       uint64    `json:"seed"`
	N          int       `json:"n"`
	Heads      int       `json:"heads"`
	KVHeads    int       `json:"kv_heads"`
	HeadDim    int       `json:"head_dim"`
	Config     Config    `json:"config"`
	InputScale float64   `json:"input_scale"`
	QInt8      string    `json:"q_int8"`
	KInt8      string    `json:"k_int8"`
	VInt8      string    `json:"v_int8"`
	OutF32LE   string    `json:"out_f32le"`
	Selected   [][]int32 `json:"selected"`
	// Statistics of the call: attended key tokens, visible key tokens and
	// attended blocks, summed over (query token, KV head).
	Tokens        int64 `json:"tokens"`
	VisibleTokens int64 `json:"visible_tokens"`
	Blocks        int64 `json:"blocks"`
}

// spec is what a case is made from.
type spec struct {
	name           string
	seed           uint64
	n, h, kv, d    int
	bs, ks, stride int
	init, local    int
	topk           int
}

// The cases: group sizes 2, 4 and 1; block sizes 64, 32 and 16; two init
// blocks in the second (the first queries have fewer blocks than that); the
// last has kernels longer than a block (some early blocks then have no
// visible kernel and are dropped) and no init block. Each selects far fewer blocks than
// there are, so ties and the top-k cut are exercised.
var specs = []spec{
	{"g2_b64_k32_s16", 1, 1000, 4, 2, 16, 64, 32, 16, 1, 2, 6},
	{"g4_b32_k32_s8_init2", 2, 700, 4, 1, 16, 32, 32, 8, 2, 3, 8},
	{"g1_b16_k48_s8_noinit", 3, 300, 2, 2, 8, 16, 48, 8, 0, 1, 5},
}

const inputScale = 1.0 / 32

func main() {
	out := flag.String("out", "", "JSON file to write")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: infllmfixture -out FILE")
		os.Exit(2)
	}
	b, err := fixture()
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "infllmfixture:", err)
		os.Exit(1)
	}
}

// fixture returns the fixture file's bytes: every case of specs, as JSON.
func fixture() ([]byte, error) {
	var cases []Case
	for _, sp := range specs {
		c, err := run(sp)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sp.name, err)
		}
		cases = append(cases, c)
	}
	b, err := json.Marshal(map[string]any{
		"about": "InfLLM-V2 sparse attention of backends/attention (Go reference), " +
			"one prefill per case; written by go run ./tools/trainmodel/infllmfixture",
		"cases": cases,
	})
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// randomInt8 returns size values round(32*x), x standard normal, clipped to
// the int8 range.
func randomInt8(r *rand.Rand, size int) []int8 {
	x := make([]int8, size)
	for i := range x {
		v := math.Round(r.NormFloat64() / inputScale)
		x[i] = int8(max(-127, min(127, v)))
	}
	return x
}

func toFloat(x []int8) []float32 {
	f := make([]float32, len(x))
	for i, v := range x {
		f[i] = float32(float64(v) * inputScale)
	}
	return f
}

func encInt8(x []int8) string {
	b := make([]byte, len(x))
	for i, v := range x {
		b[i] = byte(v)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func encF32(x []float32) string {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return base64.StdEncoding.EncodeToString(b)
}

func run(sp spec) (Case, error) {
	shape := attention.Shape{Heads: sp.h, KVHeads: sp.kv, HeadDim: sp.d}
	cfg := attention.DefaultSparse()
	cfg.BlockSize, cfg.KernelSize, cfg.KernelStride = sp.bs, sp.ks, sp.stride
	cfg.InitBlocks, cfg.LocalBlocks, cfg.TopK = sp.init, sp.local, sp.topk
	mode, err := attention.NewSparse(cfg)
	if err != nil {
		return Case{}, err
	}
	r := rand.New(rand.NewPCG(sp.seed, 0x1f11))
	q := randomInt8(r, shape.QSize(sp.n))
	k := randomInt8(r, shape.KVSize(sp.n))
	v := randomInt8(r, shape.KVSize(sp.n))

	c := attention.NewCache(shape, sp.n)
	if err := c.Append(toFloat(k), toFloat(v), nil); err != nil {
		return Case{}, err
	}
	o := make([]float32, shape.QSize(sp.n))
	st := &attention.Stats{RecordSelection: true}
	if err := mode.Forward(c, attention.Query{M: sp.n, Q: toFloat(q)}, o, st); err != nil {
		return Case{}, err
	}
	return Case{
		Name: sp.name, Seed: sp.seed, N: sp.n, Heads: sp.h, KVHeads: sp.kv, HeadDim: sp.d,
		Config: Config{
			BlockSize: cfg.BlockSize, KernelSize: cfg.KernelSize, KernelStride: cfg.KernelStride,
			InitBlocks: cfg.InitBlocks, LocalBlocks: cfg.LocalBlocks, TopK: cfg.TopK,
			LSE: cfg.LSE, UseNoPE: cfg.UseNoPE,
		},
		InputScale: inputScale,
		QInt8:      encInt8(q), KInt8: encInt8(k), VInt8: encInt8(v),
		OutF32LE: encF32(o),
		Selected: st.Selected,
		Tokens:   st.Tokens, VisibleTokens: st.VisibleTokens, Blocks: st.Blocks,
	}, nil
}
