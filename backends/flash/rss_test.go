package flash

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/backends/attention"
)

// TestPeakRSSChild is the child of BenchmarkPeakRSS: it builds one layer's
// Q, K, V and output at the requested length, runs one prefill and prints
// its peak resident set size. It does nothing in a normal test run.
func TestPeakRSSChild(t *testing.T) {
	spec := os.Getenv("EVALCTL_RSS_CHILD")
	if spec == "" {
		t.Skip("child of BenchmarkPeakRSS")
	}
	var mode string
	var n int
	fmt.Sscanf(spec, "%s %d", &mode, &n)
	s := attention.Shape{Heads: 4, KVHeads: 1, HeadDim: 64}
	k := make([]float32, s.KVSize(n))
	v := make([]float32, s.KVSize(n))
	for i := range k {
		k[i], v[i] = float32(i%7)-3, float32(i%5)-2
	}
	c := &attention.Cache{Shape: s, K: k, V: v} // no copy
	q := make([]float32, s.QSize(n))
	for i := range q {
		q[i] = float32(i%3) - 1
	}
	out := make([]float32, s.QSize(n))
	var m attention.Mode
	if mode == "dense" {
		m, _ = NewDense(64, 0)
	} else {
		m, _ = NewSparse(attention.DefaultSparse(), 0)
	}
	if err := m.Forward(c, attention.Query{M: n, Q: q}, out, nil); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("RSS %d %d\n", peakRSS(), 4*(2*s.QSize(n)+2*s.KVSize(n)))
}

// peakRSS reads VmHWM from /proc/self/status, in bytes.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkPeakRSS runs a 128K prefill in a fresh process and reports its
// peak RSS over the bytes of Q, K, V and output (the target is <= 1.2; the
// Go runtime's own memory counts against it).
func BenchmarkPeakRSS(b *testing.B) {
	for _, mode := range []string{"sparse", "dense"} {
		b.Run(mode, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				cmd := exec.Command(os.Args[0], "-test.run=^TestPeakRSSChild$", "-test.v")
				cmd.Env = append(os.Environ(), fmt.Sprintf("EVALCTL_RSS_CHILD=%s %d", mode, 131072), "GOGC=50")
				out, err := cmd.CombinedOutput()
				if err != nil {
					b.Fatalf("%v\n%s", err, out)
				}
				var rss, data int64
				for _, line := range strings.Split(string(out), "\n") {
					if strings.HasPrefix(line, "RSS ") {
						fmt.Sscanf(line, "RSS %d %d", &rss, &data)
					}
				}
				if data == 0 {
					b.Fatalf("no RSS line in\n%s", out)
				}
				b.ReportMetric(float64(rss)/float64(data), "rss/data")
				b.ReportMetric(float64(rss)/(1<<20), "rss-MiB")
			}
		})
	}
}
