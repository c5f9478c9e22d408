package harness

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progressBar draws "[=====>    ] 45/180 cells  2.3/s  ETA 1m02s  0 errors"
// on one terminal line, redrawn at most every 200 ms.
type progressBar struct {
	mu         sync.Mutex
	w          io.Writer
	total      int
	done, errs int
	start      time.Time
	last       time.Time
	stop       chan struct{}
	finished   bool
}

func newProgressBar(w io.Writer, total int) *progressBar {
	b := &progressBar{w: w, total: total, start: time.Now(), stop: make(chan struct{})}
	go func() { // redraw while idle so the rate and ETA stay fresh
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.mu.Lock()
				b.draw()
				b.mu.Unlock()
			case <-b.stop:
				return
			}
		}
	}()
	return b
}

func (b *progressBar) add(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done++
	if !ok {
		b.errs++
	}
	if time.Since(b.last) >= 200*time.Millisecond || b.done == b.total {
		b.draw()
	}
}

func (b *progressBar) draw() {
	if b.finished {
		return
	}
	b.last = time.Now()
	fmt.Fprint(b.w, "\r"+progressLine(b.done, b.total, b.errs, time.Since(b.start))+"\x1b[K")
}

func (b *progressBar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.draw()
	b.finished = true
	close(b.stop)
	fmt.Fprintln(b.w)
}

// progressLine renders the bar's text for done of total cells after elapsed.
func progressLine(done, total, errs int, elapsed time.Duration) string {
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	fill := int(frac * width)
	bar := strings.Repeat("=", fill)
	if fill < width {
		bar += ">" + strings.Repeat(" ", width-fill-1)
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	eta := "?"
	if rate > 0 {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("[%s] %d/%d cells  %.2f/s  ETA %s  %d errors", bar, done, total, rate, eta, errs)
}
