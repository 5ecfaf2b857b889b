package store

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math"
	"sort"

	"optlab.dev/optlab"
	"optlab.dev/optlab/sweep"
)

// encodeLine writes r as a line of a JSON Lines store, as optlab's JSON Lines
// writer did (non-finite metrics as 0 plus a "non_finite" list, a CRC-32C at
// the end): the fixtures of the tests of reading and importing such stores.
func encodeLine(r sweep.Record) (string, error) {
	h := *r.Hist
	h.Epochs = append([]optlab.Epoch(nil), r.Hist.Epochs...)
	var nonFinite []string
	for path, p := range historyFloats(&h) {
		if math.IsNaN(*p) || math.IsInf(*p, 0) {
			nonFinite = append(nonFinite, fmt.Sprintf("%s=%v", path, *p))
			*p = 0
		}
	}
	sort.Strings(nonFinite)
	r.Hist = &h
	body, err := json.Marshal(struct {
		sweep.Record
		NonFinite []string `json:"non_finite,omitempty"`
	}{r, nonFinite})
	if err != nil {
		return "", err
	}
	sum := crc32.Checksum(body, castagnoli)
	return fmt.Sprintf(`%s%s%08x"}`+"\n", body[:len(body)-1], sumPrefix, sum), nil
}
