package notebook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"optlab.dev/internal/atomicfile"
)

// The claim registry: every claim of the walkthrough's nine questions, the
// notebook section that tests it, and (once a notebook has run) the verdict
// and the number that decided it. Notebooks record their findings with
// Record as they compute them; the index notebook shows them all with
// ShowClaims, so its table of verdicts is generated, never typed.
//
// To add a claim, append a Claim to claims below (keep the IDs of a question
// numbered in order) and call Record with its ID in the notebook cell that
// measures it. A claim whose notebook does not test it yet carries a TODO
// saying who fills it in; the index shows it as "not measured yet".

// Verdict is what a measurement says about a claim.
type Verdict string

const (
	// Shown: the measurement supports the claim (for comparisons across
	// seeds: the confidence interval excludes no difference, on the claimed side).
	Shown Verdict = "shown"
	// NotShown: the measurement neither supports nor refutes the claim
	// (a difference within noise, or a claim true only in a weaker form).
	NotShown Verdict = "not shown"
	// Contradicted: the measurement says the opposite.
	Contradicted Verdict = "contradicted"
)

// Valid reports whether v is one of the three verdicts.
func (v Verdict) Valid() bool { return v == Shown || v == NotShown || v == Contradicted }

// Claim is one claim of the walkthrough's answers, paraphrased, with the
// notebook section that tests it.
type Claim struct {
	// ID is "Q<question>.<n>", e.g. "Q1.3".
	ID string
	// Question is the walkthrough's question number (1–9).
	Question int
	// Text is the claim in a few words.
	Text string
	// Notebook is the notebook's file name without .ipynb, e.g.
	// "01_why_optimize"; its first two characters name its findings file.
	Notebook string
	// Section is the heading (without "## ") of the section that tests it,
	// e.g. "4 · A non-convex surface": the index links to it.
	Section string
	// TODO, when set, says that no notebook records this claim yet and who
	// fills it in.
	TODO string
}

// Anchor returns the link to the claim's section: the notebook file and
// Jupyter's anchor for the heading (its text with spaces as hyphens).
func (c Claim) Anchor() string {
	link := c.Notebook + ".ipynb"
	if c.Section != "" {
		link += "#" + strings.ReplaceAll(c.Section, " ", "-")
	}
	return link
}

// claims is the registry. Q1–Q3 are tested by notebooks 01–03; the TODO
// entries name the notebook that should test them once it is rewritten.
var claims = []Claim{
	// Q1. Why do neural networks need optimization algorithms?
	{ID: "Q1.1", Question: 1, Text: "Training minimises a loss by moving each parameter along its gradient, by a rule (the optimizer)", Notebook: "01_why_optimize", Section: "1 · A loss being minimised, one update at a time"},
	{ID: "Q1.2", Question: 1, Text: "Networks have too many parameters to search without gradients", Notebook: "01_why_optimize", Section: "2 · No optimizer, and a search without gradients"},
	{ID: "Q1.3", Question: 1, Text: "The optimizer and its learning rate decide whether and how fast training converges", Notebook: "01_why_optimize", Section: "3 · Training real models, and a bad optimizer"},
	{ID: "Q1.4", Question: 1, Text: "The optimizer affects generalisation", Notebook: "01_why_optimize", Section: "3 · Training real models, and a bad optimizer"},
	{ID: "Q1.5", Question: 1, Text: "A network's loss surface is non-convex", Notebook: "01_why_optimize", Section: "4 · A non-convex surface"},
	{ID: "Q1.6", Question: 1, Text: "Regularisation (L1/L2) and the learning rate interact with the optimizer", Notebook: "01_why_optimize", Section: "5 · Regularisation and the learning rate interact with the optimizer"},

	// Q2. Gradient descent and its variants.
	{ID: "Q2.1", Question: 2, Text: "Full-batch gradient descent is smooth but slow per pass over the data", Notebook: "02_gradient_descent_variants", Section: "2 · Batch, stochastic and mini-batch gradient descent"},
	{ID: "Q2.2", Question: 2, Text: "Stochastic gradient descent updates often but noisily", Notebook: "02_gradient_descent_variants", Section: "2 · Batch, stochastic and mini-batch gradient descent"},
	{ID: "Q2.3", Question: 2, Text: "Mini-batch gradient descent is the practical middle", Notebook: "02_gradient_descent_variants", Section: "2 · Batch, stochastic and mini-batch gradient descent"},
	{ID: "Q2.4", Question: 2, Text: "Momentum speeds up progress along consistent directions", Notebook: "02_gradient_descent_variants", Section: "3 · Momentum, Nesterov, Adagrad, RMSprop, Adam"},
	{ID: "Q2.5", Question: 2, Text: "Nesterov momentum overshoots less than heavy-ball momentum", Notebook: "02_gradient_descent_variants", Section: "3 · Momentum, Nesterov, Adagrad, RMSprop, Adam"},
	{ID: "Q2.6", Question: 2, Text: "Adagrad's effective step shrinks and can stall; RMSprop's decaying average does not", Notebook: "02_gradient_descent_variants", Section: "3 · Momentum, Nesterov, Adagrad, RMSprop, Adam"},
	{ID: "Q2.7", Question: 2, Text: "The variants differ in convergence speed on a real model", Notebook: "02_gradient_descent_variants", Section: "4 · Convergence speed on a real model"},
	{ID: "Q2.8", Question: 2, Text: "State memory: SGD none, momentum one buffer, Adam two", Notebook: "02_gradient_descent_variants", Section: "5 · Memory: optimizer state in bytes"},

	// Q3. Challenges of plain gradient descent.
	{ID: "Q3.1", Question: 3, Text: "Plain gradient descent is slow in ill-conditioned valleys; momentum helps", Notebook: "03_challenges", Section: "1 · Ill-conditioned valleys"},
	{ID: "Q3.2", Question: 3, Text: "Saddle points slow plain gradient descent; adaptive rates escape sooner", Notebook: "03_challenges", Section: "2 · Saddle points"},
	{ID: "Q3.3", Question: 3, Text: "Plateaus stall plain gradient descent", Notebook: "03_challenges", Section: "3 · Plateaus"},
	{ID: "Q3.4", Question: 3, Text: "Gradient descent stops in local minima; momentum carries it through shallow ones", Notebook: "03_challenges", Section: "4 · Local minima"},
	{ID: "Q3.5", Question: 3, Text: "Gradients vanish or explode with depth; batch normalisation keeps them in scale", Notebook: "03_challenges", Section: "5 · Vanishing and exploding gradients"},
	{ID: "Q3.6", Question: 3, Text: "Gradient clipping tames a learning rate that is too large", Notebook: "03_challenges", Section: "6 · Clipping and batch normalisation on MNIST"},
	{ID: "Q3.7", Question: 3, Text: "Per-parameter rates help parameters whose gradients are sparse", Notebook: "03_challenges", Section: "7 · Sparse gradients"},
	{ID: "Q3.8", Question: 3, Text: "Plain gradient descent is sensitive to the learning rate: too large overshoots and diverges", Notebook: "03_challenges", Section: "8 · Sensitivity to the learning rate"},

	// Q4–Q9: notebooks 04–10 are being rewritten; each TODO names who records it.
	{ID: "Q4.1", Question: 4, Text: "Too large a learning rate overshoots or diverges, too small crawls", Notebook: "04_momentum_and_learning_rate", Section: "3 · Learning rate and momentum on MNIST"},
	{ID: "Q4.2", Question: 4, Text: "A schedule that lowers the learning rate improves the end of training", Notebook: "04_momentum_and_learning_rate", Section: "4 · Schedules: why lower the learning rate"},
	{ID: "Q4.3", Question: 4, Text: "Momentum damps oscillation and speeds convergence (√κ instead of κ steps on a quadratic)", Notebook: "04_momentum_and_learning_rate", Section: "2 · Why momentum is faster on the bowl"},
	{ID: "Q4.4", Question: 4, Text: "A high learning rate with momentum can overshoot", Notebook: "04_momentum_and_learning_rate", Section: "3 · Learning rate and momentum on MNIST"},
	{ID: "Q5.1", Question: 5, Text: "SGD is cheaper per update and makes more updates per epoch than full-batch GD", Notebook: "05_sgd_vs_full_batch", Section: "1 · What an update and an epoch cost"},
	{ID: "Q5.2", Question: 5, Text: "SGD's noise helps escape shallow minima, saddles and plateaus", Notebook: "05_sgd_vs_full_batch", Section: "4 · Noise on its own: a shallow minimum, a saddle, a plateau"},
	{ID: "Q5.3", Question: 5, Text: "SGD is sensitive to the learning rate", Notebook: "05_sgd_vs_full_batch", Section: "2 · A convex problem: logistic regression"},
	{ID: "Q5.4", Question: 5, Text: "SGD's noise helps generalisation", Notebook: "05_sgd_vs_full_batch", Section: "3 · A non-convex problem: a small MLP"},
	{ID: "Q5.5", Question: 5, Text: "SGD needs little memory", Notebook: "05_sgd_vs_full_batch", Section: "5 · Memory"},
	{ID: "Q6.1", Question: 6, Text: "Bias correction matters in Adam's first steps", Notebook: "06_adam", Section: "2 · Bias correction in the first steps"},
	{ID: "Q6.2", Question: 6, Text: "Adam keeps two buffers: extra memory, not low memory", Notebook: "06_adam", Section: "4 · Memory: \"low\" or \"extra\"?"},
	{ID: "Q6.3", Question: 6, Text: "Adam sometimes generalises worse than SGD", Notebook: "06_adam", Section: "6 · Generalisation: Adam against SGD"},
	{ID: "Q6.4", Question: 6, Text: "Adam is noisy with small batches", Notebook: "06_adam", Section: "5 · Noise with small batches"},
	{ID: "Q7.1", Question: 7, Text: "Adam often converges faster than RMSprop", Notebook: "07_rmsprop_vs_adam", Section: "6 · Side by side on MNIST, five seeds"},
	{ID: "Q7.2", Question: 7, Text: "RMSprop needs less memory than Adam", Notebook: "07_rmsprop_vs_adam", Section: "4 · State: how much less memory?"},
	{ID: "Q8.1", Question: 8, Text: "Answer A: SGD scores highest, and the three optimizers differ too little to matter", Notebook: "08_mnist_comparison", Section: "4 · The corrected comparison"},
	{ID: "Q8.2", Question: 8, Text: "Answer B: Adam and RMSprop beat SGD (measured with the sequential protocol)", Notebook: "08_mnist_comparison", Section: "4 · The corrected comparison"},
	{ID: "Q8.3", Question: 8, Text: "Answer A's 100-unit output layer does not matter", Notebook: "08_mnist_comparison", Section: "6 · What the $100$-unit output cost"},
	{ID: "Q9.1", Question: 9, Text: "Adam and RMSprop converge faster and forgive the learning rate", Notebook: "09_choosing_an_optimizer", Section: "6 · The claims, checked"},
	{ID: "Q9.2", Question: 9, Text: "SGD with momentum and a schedule generalises better", Notebook: "09_choosing_an_optimizer", Section: "6 · The claims, checked"},
	{ID: "Q9.3", Question: 9, Text: "Adaptive methods cost extra memory", Notebook: "09_choosing_an_optimizer", Section: "5 · Memory and time per step"},
	{ID: "Q9.4", Question: 9, Text: "AdamW and LARS are good options with built-in regularisation", Notebook: "09_choosing_an_optimizer", Section: "6 · The claims, checked"},
}

// Claims returns the registry: every claim of the nine questions in order.
func Claims() []Claim { return slices.Clone(claims) }

// LookupClaim returns the claim with the given ID.
func LookupClaim(id string) (Claim, error) {
	for _, c := range claims {
		if c.ID == id {
			return c, nil
		}
	}
	return Claim{}, fmt.Errorf("unknown claim %q (see notebook.Claims)", id)
}

// Finding is a claim's measured outcome, as a notebook recorded it.
type Finding struct {
	Claim   string  `json:"claim"`
	Verdict Verdict `json:"verdict"`
	// Number is the measurement that decided the verdict, in a few words
	// ("midpoint loss 0.93 against 0.21 at both ends").
	Number string `json:"number"`
	// Quick is true for a finding of a quick-mode run (less data, fewer steps).
	Quick bool `json:"quick,omitempty"`
}

// findingsFile is a notebook's findings, with the code that computed them.
type findingsFile struct {
	Notebook string    `json:"notebook"`
	Code     string    `json:"code"`
	Findings []Finding `json:"findings"`
}

// ClaimsDir is where notebooks keep their findings: the caches' folder, as
// seen from a notebook (GoNB runs a cell in the notebook's folder).
// CachePath applies, so quick runs and cold runs write elsewhere.
const ClaimsDir = "../data/cache"

// FindingsFile returns the name of the file holding a notebook's findings:
// "NN_claims.json" for the notebook "NN_name".
func FindingsFile(notebook string) string {
	prefix := notebook
	if i := strings.IndexByte(notebook, '_'); i > 0 {
		prefix = notebook[:i]
	}
	return prefix + "_claims.json"
}

// Record stores a notebook's finding about a claim in its findings file
// (CachePath(ClaimsDir/NN_claims.json)), replacing an earlier finding about
// the same claim; the index notebook shows every finding with ShowClaims.
// The file records the code fingerprint (CodeFingerprint): a finding of
// other code is shown as stale, and `optlab caches` rejects it.
func Record(id string, v Verdict, number string) error {
	return recordIn(ClaimsDir, id, v, number)
}

func recordIn(dir, id string, v Verdict, number string) error {
	c, err := LookupClaim(id)
	if err != nil {
		return err
	}
	if !v.Valid() {
		return fmt.Errorf("claim %s: verdict %q is not one of %q, %q, %q", id, v, Shown, NotShown, Contradicted)
	}
	if strings.TrimSpace(number) == "" {
		return fmt.Errorf("claim %s: a verdict needs the number that decided it", id)
	}
	code, err := CodeFingerprint(dir)
	if err != nil {
		return fmt.Errorf("claim %s: %w", id, err)
	}
	path := CachePath(filepath.Join(dir, FindingsFile(c.Notebook)))
	f, err := readFindings(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f = &findingsFile{}
	case err != nil:
		return err
	}
	if f.Code != code {
		// Findings of other code are dropped: the notebook records them again.
		f.Findings = nil
	}
	f.Notebook, f.Code = c.Notebook, code
	fd := Finding{Claim: id, Verdict: v, Number: number, Quick: Quick()}
	if i := slices.IndexFunc(f.Findings, func(x Finding) bool { return x.Claim == id }); i >= 0 {
		f.Findings[i] = fd
	} else {
		f.Findings = append(f.Findings, fd)
	}
	raw, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("claim %s: %w", id, err)
	}
	if err := atomicfile.WriteBytes(path, append(raw, '\n')); err != nil {
		return fmt.Errorf("claim %s: %w", id, err)
	}
	return nil
}

// readFindings reads a findings file.
func readFindings(path string) (*findingsFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f findingsFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("findings file %s is damaged (%v): delete it and re-execute its notebook", path, err)
	}
	for _, fd := range f.Findings {
		if _, err := LookupClaim(fd.Claim); err != nil {
			return nil, fmt.Errorf("findings file %s: %w", path, err)
		}
		if !fd.Verdict.Valid() {
			return nil, fmt.Errorf("findings file %s: claim %s has verdict %q", path, fd.Claim, fd.Verdict)
		}
	}
	return &f, nil
}

// ClaimStatus is a claim with what its notebook recorded about it.
type ClaimStatus struct {
	Claim
	// Finding is nil when no notebook recorded the claim yet.
	Finding *Finding
	// Stale is true when the finding was computed by other code than the
	// current (re-execute the notebook).
	Stale bool
}

// ClaimStatuses joins the registry with the findings in dir (ClaimsDir for
// a notebook), judged against the code fingerprint code. A notebook's
// findings are read from CachePath first (a quick or cold run's own), then
// from dir itself (the committed full-mode findings).
func ClaimStatuses(dir, code string) ([]ClaimStatus, error) {
	files := map[string]*findingsFile{}
	var out []ClaimStatus
	for _, c := range claims {
		name := FindingsFile(c.Notebook)
		f, seen := files[name]
		if !seen {
			for _, path := range []string{CachePath(filepath.Join(dir, name)), filepath.Join(dir, name)} {
				var err error
				f, err = readFindings(path)
				if err == nil {
					break
				}
				if !errors.Is(err, fs.ErrNotExist) {
					return nil, err
				}
			}
			files[name] = f
		}
		st := ClaimStatus{Claim: c}
		if f != nil {
			if i := slices.IndexFunc(f.Findings, func(x Finding) bool { return x.Claim == c.ID }); i >= 0 {
				fd := f.Findings[i]
				st.Finding, st.Stale = &fd, f.Code != code
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// ClaimsMarkdown renders statuses as a Markdown table: claim, verdict, the
// number, and a link to the section that measured it.
func ClaimsMarkdown(statuses []ClaimStatus) string {
	var b strings.Builder
	b.WriteString("| | claim | verdict | the number | where |\n|---|---|---|---|---|\n")
	for _, s := range statuses {
		verdict, number := "*not measured yet*", "–"
		if s.Finding != nil {
			verdict, number = "**"+string(s.Finding.Verdict)+"**", s.Finding.Number
			switch {
			case s.Stale:
				verdict += " (stale: computed by older code)"
			case s.Finding.Quick:
				verdict += " (quick mode)"
			}
		}
		where := fmt.Sprintf("[%s](%s)", linkText(s.Claim), s.Anchor())
		if s.Finding == nil && s.TODO != "" {
			where += " · TODO: " + s.TODO
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", s.ID, cellText(s.Text), verdict, cellText(number), where)
	}
	return b.String()
}

// linkText names a claim's section: "01 §4" (or just "01").
func linkText(c Claim) string {
	nb := c.Notebook
	if i := strings.IndexByte(nb, '_'); i > 0 {
		nb = nb[:i]
	}
	if sec, _, ok := strings.Cut(c.Section, " "); ok && sec != "" {
		return nb + " §" + sec
	}
	return nb
}

// cellText escapes what would break a Markdown table cell.
func cellText(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// VerdictCounts counts the statuses by verdict; the key "" counts the claims
// not measured yet, and stale findings count under their verdict.
func VerdictCounts(statuses []ClaimStatus) map[Verdict]int {
	n := map[Verdict]int{}
	for _, s := range statuses {
		if s.Finding == nil {
			n[""]++
		} else {
			n[s.Finding.Verdict]++
		}
	}
	return n
}

// ShowClaims shows the table of every claim of the nine questions with its
// verdict, number and section, from the findings the notebooks recorded in
// ClaimsDir. It is the index notebook's table.
func ShowClaims() error {
	code, err := CodeFingerprint(ClaimsDir)
	if err != nil {
		return err
	}
	st, err := ClaimStatuses(ClaimsDir, code)
	if err != nil {
		return err
	}
	showMarkdown(os.Stdout, ClaimsMarkdown(st))
	return nil
}

// FindingsState says whether a findings file is current.
type FindingsState struct {
	Path string
	// Findings is the number of findings the file holds.
	Findings int
	// Current is true when the file was written by the code whose
	// fingerprint was given; Reason says why not.
	Current bool
	Reason  string
}

// CheckFindings reads a findings file written by Record and reports whether
// it was computed by the code with fingerprint code (`optlab caches` runs it
// on every *_claims.json).
func CheckFindings(path, code string) (FindingsState, error) {
	st := FindingsState{Path: path}
	f, err := readFindings(path)
	if err != nil {
		return st, err
	}
	st.Findings = len(f.Findings)
	switch {
	case len(f.Findings) == 0:
		st.Reason = "no findings"
	case f.Code != code:
		st.Reason = fmt.Sprintf("computed by other code (%s, current %s)", short(f.Code), short(code))
	default:
		st.Current = true
	}
	for _, fd := range f.Findings {
		if fd.Quick && st.Current {
			st.Current, st.Reason = false, fmt.Sprintf("claim %s was recorded in quick mode", fd.Claim)
		}
	}
	return st, nil
}
