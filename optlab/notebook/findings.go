package notebook

import (
	"os"
	"strings"
)

// ShowFindings shows, for one notebook (its file name without .ipynb, or
// its number, "04"), the claims it tests with the verdicts and numbers it
// recorded (Record): the notebook's "What we found", generated from the
// same findings as the index's table, so the two cannot disagree.
func ShowFindings(notebook string) error {
	code, err := CodeFingerprint(ClaimsDir)
	if err != nil {
		return err
	}
	st, err := ClaimStatuses(ClaimsDir, code)
	if err != nil {
		return err
	}
	showMarkdown(os.Stdout, ClaimsMarkdown(findingsOf(st, notebook)))
	return nil
}

// findingsOf keeps the statuses of one notebook's claims.
func findingsOf(st []ClaimStatus, notebook string) []ClaimStatus {
	var out []ClaimStatus
	for _, s := range st {
		if s.Notebook == notebook || strings.HasPrefix(s.Notebook, notebook+"_") {
			out = append(out, s)
		}
	}
	return out
}
