package optlab

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress draws a one-line progress bar with an ETA, rewritten in place. A nil
// writer makes every method a no-op.
type progress struct {
	w       io.Writer
	total   int
	start   time.Time
	last    time.Time
	drawn   bool
	minStep time.Duration
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, total: total, start: time.Now(), minStep: 200 * time.Millisecond}
}

// update redraws the bar at most every 200 ms (and always at the end).
func (p *progress) update(done int, label string) {
	if p.w == nil || p.total <= 0 {
		return
	}
	now := time.Now()
	if done < p.total && now.Sub(p.last) < p.minStep {
		return
	}
	p.last = now
	frac := float64(done) / float64(p.total)
	const width = 24
	filled := int(frac * width)
	eta := "--"
	if done > 0 {
		elapsed := now.Sub(p.start)
		remaining := time.Duration(float64(elapsed) * (1/frac - 1))
		eta = remaining.Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%% %s ETA %s   ", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), 100*frac, label, eta)
	p.drawn = true
}

// finish clears the bar's line.
func (p *progress) finish() {
	if p.w != nil && p.drawn {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 100))
	}
}
