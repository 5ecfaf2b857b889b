// Package data ships the small data files optlab needs at run time, embedded
// so that they are found wherever the module is used: the reference results
// the notebooks compare against (reference/*.csv, each naming its source in
// its leading '#' lines). MNIST itself comes from the GoMNIST module; see
// optlab/datasets.LoadMNIST.
package data

import (
	"embed"
	"encoding/csv"
	"fmt"
	"strings"
)

//go:embed reference/*.csv
var reference embed.FS

// CSV is a parsed reference file: its source note (the leading '#' lines
// without the '#'), its header and its rows.
type CSV struct {
	Source string
	Header []string
	Rows   [][]string
}

// ReadReference parses reference/NAME (e.g. "q8_test_results.csv").
func ReadReference(name string) (*CSV, error) {
	raw, err := reference.ReadFile("reference/" + name)
	if err != nil {
		return nil, fmt.Errorf("reference data %q: %w", name, err)
	}
	var note, body []string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "#") {
			note = append(note, strings.TrimSpace(strings.TrimPrefix(line, "#")))
		} else if strings.TrimSpace(line) != "" {
			body = append(body, line)
		}
	}
	recs, err := csv.NewReader(strings.NewReader(strings.Join(body, "\n"))).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reference data %q: %w", name, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("reference data %q is empty", name)
	}
	return &CSV{Source: strings.Join(note, " "), Header: recs[0], Rows: recs[1:]}, nil
}

// Column returns the values of the named column, or an error naming it.
func (c *CSV) Column(name string) ([]string, error) {
	for i, h := range c.Header {
		if h == name {
			out := make([]string, len(c.Rows))
			for j, r := range c.Rows {
				out[j] = r[i]
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("no column %q (have %s)", name, strings.Join(c.Header, ", "))
}
