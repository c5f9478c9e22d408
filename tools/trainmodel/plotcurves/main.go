// Command plotcurves draws the default model's training curves from the
// training logs that tools/trainmodel/train.py writes (one per stage):
//
//	go run ./tools/trainmodel/plotcurves datasets/models/default
//
// It writes loss.png (training loss and answer loss over the steps of all
// stages, log scale) and accuracy.png (held-out greedy accuracy per task at
// the periodic evaluations, averaged over the lengths evaluated).
package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

type logFile struct {
	Steps []struct {
		Step       int     `json:"step"`
		Loss       float64 `json:"loss"`
		AnswerLoss float64 `json:"answer_loss"`
	} `json:"steps"`
	Evals []struct {
		Step     int                `json:"step"`
		Accuracy map[string]float64 `json:"accuracy"`
		Final    bool               `json:"final"`
	} `json:"evals"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: plotcurves MODEL_DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	paths, _ := filepath.Glob(filepath.Join(dir, "training_log_stage*.json"))
	sort.Strings(paths)
	if len(paths) == 0 {
		fmt.Fprintln(os.Stderr, "no training_log_stage*.json in", dir)
		os.Exit(1)
	}
	var loss, ans plotter.XYs
	acc := map[string]plotter.XYs{}
	offset := 0
	var stageEnds []int
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			fail(err)
		}
		var lf logFile
		if err := json.Unmarshal(data, &lf); err != nil {
			fail(fmt.Errorf("%s: %v", p, err))
		}
		last := 0
		for _, s := range lf.Steps {
			loss = append(loss, plotter.XY{X: float64(offset + s.Step), Y: s.Loss})
			ans = append(ans, plotter.XY{X: float64(offset + s.Step), Y: s.AnswerLoss})
			last = s.Step
		}
		for _, e := range lf.Evals {
			sum := map[string][2]float64{}
			for k, v := range e.Accuracy {
				task := k[:strings.LastIndex(k, "|")]
				t := sum[task]
				sum[task] = [2]float64{t[0] + v, t[1] + 1}
			}
			for task, t := range sum {
				acc[task] = append(acc[task], plotter.XY{X: float64(offset + e.Step), Y: t[0] / t[1]})
			}
		}
		offset += last
		stageEnds = append(stageEnds, offset)
	}

	p := plot.New()
	p.Title.Text = fmt.Sprintf("default model: training loss (%d stages, ends at steps %v)", len(paths), stageEnds)
	p.X.Label.Text = "step"
	p.Y.Label.Text = "cross-entropy (nats)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{}
	add(p, loss, "weighted loss", color.RGBA{R: 31, G: 119, B: 180, A: 255})
	add(p, ans, "answer tokens", color.RGBA{R: 214, G: 39, B: 40, A: 255})
	save(p, filepath.Join(dir, "loss.png"))

	q := plot.New()
	q.Title.Text = "held-out greedy accuracy (mean over evaluated lengths)"
	q.X.Label.Text = "step"
	q.Y.Label.Text = "fraction of references found"
	q.Y.Min, q.Y.Max = 0, 1
	var tasks []string
	for t := range acc {
		tasks = append(tasks, t)
	}
	sort.Strings(tasks)
	palette := []color.RGBA{{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}}
	for i, t := range tasks {
		add(q, acc[t], t, palette[i%len(palette)])
	}
	q.Legend.Top = false
	save(q, filepath.Join(dir, "accuracy.png"))
}

func add(p *plot.Plot, xy plotter.XYs, name string, c color.RGBA) {
	l, err := plotter.NewLine(xy)
	if err != nil {
		fail(err)
	}
	l.Color = c
	p.Add(l)
	p.Legend.Add(name, l)
}

func save(p *plot.Plot, path string) {
	if err := p.Save(9*vg.Inch, 5*vg.Inch, path); err != nil {
		fail(err)
	}
	fmt.Println("wrote", path)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "plotcurves:", err)
	os.Exit(1)
}
