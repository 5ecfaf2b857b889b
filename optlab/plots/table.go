package plots

import (
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/janpfeifer/gonb/gonbui"
)

// Table is a small results table. It renders as aligned plain text for
// terminals (String), as HTML for notebooks (HTML, Display) and as Markdown.
// Columns whose cells all look numeric are right-aligned.
type Table struct {
	Title  string
	Header []string
	Rows   [][]string
	// Note is printed under the table (units, how values were measured).
	Note string
}

// NewTable returns an empty table with a title and column headers.
func NewTable(title string, header ...string) *Table {
	return &Table{Title: title, Header: header}
}

// AddRow appends a row, formatting each cell: strings as they are, integers
// in full, floats with four significant digits (NaN and ±Inf spelled out),
// durations rounded, other values with %v. It returns an error when the
// number of cells differs from the number of columns.
func (t *Table) AddRow(cells ...any) error {
	if len(t.Header) > 0 && len(cells) != len(t.Header) {
		return fmt.Errorf("plots: table %q: row has %d cells for %d columns", t.Title, len(cells), len(t.Header))
	}
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = FormatCell(c)
	}
	t.Rows = append(t.Rows, row)
	return nil
}

// FormatCell formats one value as AddRow does.
func FormatCell(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return formatFloat(x)
	case float32:
		return formatFloat(float64(x))
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprintf("%d", x)
	case time.Duration:
		switch {
		case x >= time.Second:
			return x.Round(time.Millisecond).String()
		case x >= time.Millisecond:
			return x.Round(time.Microsecond).String()
		default:
			return x.String()
		}
	case fmt.Stringer:
		return x.String()
	case error:
		return x.Error()
	default:
		return fmt.Sprintf("%v", v)
	}
}

func formatFloat(x float64) string {
	switch {
	case math.IsNaN(x):
		return "NaN"
	case math.IsInf(x, 1):
		return "+Inf"
	case math.IsInf(x, -1):
		return "-Inf"
	case x != 0 && (math.Abs(x) >= 1e6 || math.Abs(x) < 1e-3):
		return strconv.FormatFloat(x, 'e', 3, 64)
	default:
		return strconv.FormatFloat(x, 'g', 4, 64)
	}
}

// numericColumns marks the columns whose cells all look numeric: digits with
// signs, exponents, separators, "±", "%" and short units ("1.5 MiB",
// "0.977 ± 0.002", "12k/s"). Empty cells and "-" placeholders are ignored; a
// column of placeholders only is not numeric.
func (t *Table) numericColumns(ncols int) []bool {
	num := make([]bool, ncols)
	for c := range num {
		seen, ok := false, true
		for _, r := range t.Rows {
			if c >= len(r) {
				continue
			}
			v := strings.TrimSpace(r[c])
			if v == "" || v == "-" || v == "—" || v == "n/a" {
				continue
			}
			seen = true
			if !numericCell(v) {
				ok = false
				break
			}
		}
		num[c] = seen && ok
	}
	return num
}

// numericCell reports whether s looks like a number with an optional unit.
func numericCell(s string) bool {
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return true
	}
	if s == "NaN" || s == "+Inf" || s == "-Inf" {
		return true
	}
	if _, err := time.ParseDuration(s); err == nil {
		return true
	}
	if !strings.ContainsAny(s[:1], "0123456789+-.") {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789.-+e%×±, kMGTBKiμmnsx/", r) {
			return false
		}
	}
	return true
}

func (t *Table) ncols() int {
	n := len(t.Header)
	for _, r := range t.Rows {
		n = max(n, len(r))
	}
	return n
}

// String renders the table as aligned plain text.
func (t *Table) String() string {
	var b strings.Builder
	_ = t.WriteText(&b)
	return b.String()
}

// WriteText writes the table as aligned plain text to w.
func (t *Table) WriteText(w io.Writer) error {
	n := t.ncols()
	width := make([]int, n)
	for c := 0; c < n; c++ {
		if c < len(t.Header) {
			width[c] = utf8.RuneCountInString(t.Header[c])
		}
		for _, r := range t.Rows {
			if c < len(r) {
				width[c] = max(width[c], utf8.RuneCountInString(r[c]))
			}
		}
	}
	num := t.numericColumns(n)
	var b strings.Builder
	line := func(cells []string) {
		for c := 0; c < n; c++ {
			s := ""
			if c < len(cells) {
				s = cells[c]
			}
			pad := strings.Repeat(" ", width[c]-utf8.RuneCountInString(s))
			if c > 0 {
				b.WriteString("  ")
			}
			if num[c] {
				b.WriteString(pad + s)
			} else if c < n-1 {
				b.WriteString(s + pad)
			} else {
				b.WriteString(s)
			}
		}
		// An empty last cell leaves the separator behind: trim it.
		trimmed := strings.TrimRight(b.String(), " ")
		b.Reset()
		b.WriteString(trimmed + "\n")
	}
	if t.Title != "" {
		b.WriteString(t.Title + "\n")
	}
	if len(t.Header) > 0 {
		line(t.Header)
		total := 2 * (n - 1)
		for _, w := range width {
			total += w
		}
		b.WriteString(strings.Repeat("-", total) + "\n")
	}
	for _, r := range t.Rows {
		line(r)
	}
	if t.Note != "" {
		b.WriteString(t.Note + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// HTML renders the table as an HTML fragment with its own minimal styling.
func (t *Table) HTML() string {
	n := t.ncols()
	num := t.numericColumns(n)
	var b strings.Builder
	b.WriteString(`<table style="border-collapse:collapse;font-family:sans-serif;font-size:13px">`)
	if t.Title != "" {
		fmt.Fprintf(&b, `<caption style="font-weight:bold;text-align:left;padding:4px 0">%s</caption>`, html.EscapeString(t.Title))
	}
	cell := func(tag string, c int, s string) {
		align := "left"
		if num[c] {
			align = "right"
		}
		style := "padding:3px 10px;text-align:" + align
		if tag == "th" {
			style += ";border-bottom:1px solid #444"
		}
		fmt.Fprintf(&b, `<%s style="%s">%s</%s>`, tag, style, html.EscapeString(s), tag)
	}
	if len(t.Header) > 0 {
		b.WriteString("<thead><tr>")
		for c := 0; c < n; c++ {
			s := ""
			if c < len(t.Header) {
				s = t.Header[c]
			}
			cell("th", c, s)
		}
		b.WriteString("</tr></thead>")
	}
	b.WriteString("<tbody>")
	for _, r := range t.Rows {
		b.WriteString("<tr>")
		for c := 0; c < n; c++ {
			s := ""
			if c < len(r) {
				s = r[c]
			}
			cell("td", c, s)
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>")
	if t.Note != "" {
		fmt.Fprintf(&b, `<p style="font-size:12px;color:#555">%s</p>`, html.EscapeString(t.Note))
	}
	return b.String()
}

// Markdown renders the table as a GitHub-flavoured Markdown table.
func (t *Table) Markdown() string {
	n := t.ncols()
	num := t.numericColumns(n)
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	var b strings.Builder
	if t.Title != "" {
		b.WriteString("**" + esc(t.Title) + "**\n\n")
	}
	row := func(cells []string) {
		b.WriteString("|")
		for c := 0; c < n; c++ {
			s := ""
			if c < len(cells) {
				s = cells[c]
			}
			b.WriteString(" " + esc(s) + " |")
		}
		b.WriteString("\n")
	}
	row(t.Header)
	b.WriteString("|")
	for c := 0; c < n; c++ {
		if num[c] {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		row(r)
	}
	if t.Note != "" {
		b.WriteString("\n" + t.Note + "\n")
	}
	return b.String()
}

// Display shows the table as HTML in a GoNB notebook; elsewhere it prints the
// aligned text to standard output.
func (t *Table) Display() error {
	if gonbui.IsNotebook {
		gonbui.DisplayHTML(t.HTML())
		gonbui.Sync() // a cell's last output is otherwise lost if its program exits first
		return gonbui.Error()
	}
	return t.WriteText(os.Stdout)
}
