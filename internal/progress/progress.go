// Package progress draws a one-line progress bar with an ETA on a terminal,
// rewritten in place with '\r'.
//
// It imports only the standard library.
package progress

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Bar is a one-line progress bar. A Bar with a nil writer does nothing, so
// callers need not check whether progress was asked for. A Bar is not safe for
// concurrent use.
type Bar struct {
	w       io.Writer
	total   int
	start   time.Time
	last    time.Time
	drawn   bool
	minStep time.Duration
}

// New returns a bar over total units of work drawn on w (nil: no bar).
func New(w io.Writer, total int) *Bar {
	return &Bar{w: w, total: total, start: time.Now(), minStep: 200 * time.Millisecond}
}

// Update redraws the bar for done units with a label, at most every 200 ms
// (and always at the end).
func (p *Bar) Update(done int, label string) {
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

// Redraw is Update without the 200 ms limit: for the first update after Clear.
func (p *Bar) Redraw(done int, label string) {
	p.last = time.Time{}
	p.Update(done, label)
}

// Clear erases the bar's line so a log line can be printed; the next update
// draws it again.
func (p *Bar) Clear() {
	if p.w != nil && p.drawn {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 100))
		p.drawn = false
	}
}

// Finish clears the bar's line for good.
func (p *Bar) Finish() { p.Clear() }
