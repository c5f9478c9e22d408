package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

const fixturePath = "../testdata/infllm_fixture.json"

type fixtureFile struct {
	Cases []Case `json:"cases"`
}

func decodeF32(t *testing.T, s string) []float32 {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b)%4 != 0 {
		t.Fatalf("bad float32 payload: %v (%d bytes)", err, len(b))
	}
	x := make([]float32, len(b)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x
}

// The committed fixture is what the Go reference computes today: the
// selections exactly, the outputs to float32 rounding. A change of the
// reference's selection shows here before it silently detaches the Python
// training implementation from it.
func TestFixtureMatchesReference(t *testing.T) {
	committed, err := os.ReadFile(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := fixture()
	if err != nil {
		t.Fatal(err)
	}
	var a, b fixtureFile
	if err := json.Unmarshal(committed, &a); err != nil {
		t.Fatalf("%s: %v", fixturePath, err)
	}
	if err := json.Unmarshal(fresh, &b); err != nil {
		t.Fatal(err)
	}
	if len(a.Cases) != len(specs) || len(b.Cases) != len(specs) {
		t.Fatalf("cases: committed %d, fresh %d, specs %d", len(a.Cases), len(b.Cases), len(specs))
	}
	for i := range specs {
		ca, cb := a.Cases[i], b.Cases[i]
		if ca.Name != cb.Name || ca.QInt8 != cb.QInt8 || ca.KInt8 != cb.KInt8 || ca.VInt8 != cb.VInt8 || ca.Config != cb.Config {
			t.Fatalf("case %s: inputs or config differ from the committed fixture: regenerate it (go run ./tools/trainmodel/infllmfixture -out tools/trainmodel/testdata/infllm_fixture.json)", cb.Name)
		}
		if !reflect.DeepEqual(ca.Selected, cb.Selected) {
			t.Errorf("case %s: the Go reference selects other blocks than the committed fixture", cb.Name)
		}
		if ca.Tokens != cb.Tokens || ca.Blocks != cb.Blocks {
			t.Errorf("case %s: attended tokens/blocks %d/%d, committed %d/%d", cb.Name, cb.Tokens, cb.Blocks, ca.Tokens, ca.Blocks)
		}
		oa, ob := decodeF32(t, ca.OutF32LE), decodeF32(t, cb.OutF32LE)
		if len(oa) != len(ob) {
			t.Fatalf("case %s: output length %d, committed %d", cb.Name, len(ob), len(oa))
		}
		worst := 0.0
		for j := range oa {
			worst = max(worst, math.Abs(float64(oa[j]-ob[j])))
		}
		if worst > 1e-6 {
			t.Errorf("case %s: output differs from the committed fixture by %.3g", cb.Name, worst)
		}
	}
	if !bytes.HasSuffix(committed, []byte("\n")) {
		t.Errorf("%s: no final newline", fixturePath)
	}
}

// pythonWithTorch returns a Python interpreter that imports torch, or "".
func pythonWithTorch() string {
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if err := exec.Command(py, "-c", "import torch").Run(); err == nil {
			return py
		}
	}
	return ""
}

// The training-loop implementation (tools/trainmodel/infllm.py) against the
// fixture, through its own test script: identical block selections and
// outputs within 1e-4, dense equality when every block fits, the flex
// tables against a brute-force tiling (its GPU checks skip without CUDA);
// and train.py's depth growth (same logits) and data packs.
// CI installs Debian's python3-torch for this (.ci/run); without torch the
// test is skipped.
func TestPythonImplementation(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	py := pythonWithTorch()
	if py == "" {
		t.Skip("no python3 with torch (CI installs python3-torch)")
	}
	script, err := filepath.Abs("../test_infllm.py")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cmd := exec.Command(py, script)
	cmd.Dir = "../../.."
	out, err := cmd.CombinedOutput()
	t.Logf("%s %s (%.1fs):\n%s", py, script, time.Since(start).Seconds(), out)
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	if !bytes.Contains(out, []byte("PASS")) {
		t.Fatalf("%s did not report PASS", script)
	}
}
