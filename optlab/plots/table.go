package plots

import (
	"fmt"
	"html"
	"strings"
	"unicode/utf8"

	"github.com/janpfeifer/gonb/gonbui"
)

// Table is a small results table: String renders it as aligned text for
// terminals, HTML as an HTML table for notebooks, Display shows it inline in
// GoNB. Cells that look numeric are right-aligned.
type Table struct {
	Title  string
	Header []string
	Rows   [][]string
	// Note, if set, is printed under the table (for sources and caveats).
	Note string
}

// AddRow appends a row, formatting each value with fmt.Sprint.
func (t *Table) AddRow(cells ...any) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = fmt.Sprint(c)
	}
	t.Rows = append(t.Rows, row)
}

func numeric(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789.-+e%×±, kMGBKi/s", r) {
			return false
		}
	}
	return strings.ContainsAny(s, "0123456789")
}

// String renders the table as aligned plain text.
func (t *Table) String() string {
	cols := len(t.Header)
	for _, r := range t.Rows {
		cols = max(cols, len(r))
	}
	width := make([]int, cols)
	cell := func(r []string, i int) string {
		if i < len(r) {
			return r[i]
		}
		return ""
	}
	for i := range cols {
		width[i] = utf8.RuneCountInString(cell(t.Header, i))
		for _, r := range t.Rows {
			width[i] = max(width[i], utf8.RuneCountInString(cell(r, i)))
		}
	}
	var b strings.Builder
	if t.Title != "" {
		b.WriteString(t.Title + "\n")
	}
	line := func(r []string) {
		for i := range cols {
			c := cell(r, i)
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if numeric(c) {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
		}
		b.WriteString("\n")
	}
	if len(t.Header) > 0 {
		line(t.Header)
		seps := make([]string, cols)
		for i := range seps {
			seps[i] = strings.Repeat("-", width[i])
		}
		b.WriteString(strings.Join(seps, "  ") + "\n")
	}
	for _, r := range t.Rows {
		line(r)
	}
	if t.Note != "" {
		b.WriteString(t.Note + "\n")
	}
	return b.String()
}

// HTML renders the table as an HTML fragment.
func (t *Table) HTML() string {
	var b strings.Builder
	b.WriteString(`<table style="border-collapse:collapse">`)
	if t.Title != "" {
		fmt.Fprintf(&b, `<caption style="font-weight:bold">%s</caption>`, html.EscapeString(t.Title))
	}
	if len(t.Header) > 0 {
		b.WriteString("<thead><tr>")
		for _, h := range t.Header {
			fmt.Fprintf(&b, `<th style="padding:2px 8px">%s</th>`, html.EscapeString(h))
		}
		b.WriteString("</tr></thead>")
	}
	b.WriteString("<tbody>")
	for _, r := range t.Rows {
		b.WriteString("<tr>")
		for _, c := range r {
			align := "left"
			if numeric(c) {
				align = "right"
			}
			fmt.Fprintf(&b, `<td style="padding:2px 8px;text-align:%s">%s</td>`, align, html.EscapeString(c))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>")
	if t.Note != "" {
		fmt.Fprintf(&b, `<p style="font-size:smaller">%s</p>`, html.EscapeString(t.Note))
	}
	return b.String()
}

// Display shows the table inline in a GoNB notebook as HTML; outside GoNB it
// prints the text form to standard output.
func (t *Table) Display() {
	if gonbui.IsNotebook {
		gonbui.DisplayHTML(t.HTML())
		return
	}
	fmt.Print(t.String())
}
