package benchmark

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"optlab.dev/optlab"
	"optlab.dev/optlab/sweep"
)

var inf = math.Inf(1)

// The scoring math on examples small enough to compute by hand.

func TestStudyAndWorkloadTimes(t *testing.T) {
	for _, c := range []struct {
		trials []float64
		want   float64
	}{
		{[]float64{300, inf, 250}, 250},
		{[]float64{inf, inf}, inf},
		{nil, inf},
		{[]float64{7}, 7},
	} {
		if got := StudyTime(c.trials); got != c.want {
			t.Errorf("StudyTime(%v) = %v, want %v", c.trials, got, c.want)
		}
	}
	for _, c := range []struct {
		studies []float64
		want    float64
	}{
		{[]float64{250, inf, 100}, 250}, // sorted 100, 250, ∞: the middle study reached it
		{[]float64{inf, inf, 100}, inf}, // two of three studies failed: the median fails
		{[]float64{100, 300}, 200},      // even count: mean of the middle two
		{[]float64{100, inf}, inf},      // … which is ∞ when one of them is
		{[]float64{5, 1, 3, 2, 4}, 3},
		{nil, inf},
	} {
		if got := WorkloadTime(c.studies); got != c.want {
			t.Errorf("WorkloadTime(%v) = %v, want %v", c.studies, got, c.want)
		}
	}
}

func TestRatiosProfilesAndScore(t *testing.T) {
	// Submissions A, B, C, D on workloads w1, w2 (times in steps).
	times := [][]float64{
		{100, 200}, // A: fastest on w1, twice the best on w2
		{200, 100}, // B: the mirror image
		{500, inf}, // C: 5× slower on w1 (beyond r_max), never reaches w2's target
		{350, 150}, // D: 3.5× and 1.5×
	}
	wantRatios := [][]float64{{1, 2}, {2, 1}, {5, inf}, {3.5, 1.5}}
	ratios := Ratios(times)
	for s := range times {
		if !slices.Equal(ratios[s], wantRatios[s]) {
			t.Errorf("ratios of submission %d: %v, want %v", s, ratios[s], wantRatios[s])
		}
	}
	// ρ at τ = 1, 1.5, 2, 3.5, 4 (fractions of the two workloads).
	taus := []float64{1, 1.5, 2, 3.5, 4}
	wantProfiles := [][]float64{
		{0.5, 0.5, 1, 1, 1},
		{0.5, 0.5, 1, 1, 1},
		{0, 0, 0, 0, 0},
		{0, 0.5, 0.5, 1, 1},
	}
	// B = Σ_w max(0, 4 − r_w) / (n·(4 − 1)):
	// A: (3 + 2)/6, B: (2 + 3)/6, C: 0, D: (0.5 + 2.5)/6.
	wantScores := []float64{5.0 / 6, 5.0 / 6, 0, 0.5}
	for s := range times {
		if got := Profile(ratios[s], taus); !slices.Equal(got, wantProfiles[s]) {
			t.Errorf("profile of submission %d at %v: %v, want %v", s, taus, got, wantProfiles[s])
		}
		if got := BenchmarkScore(ratios[s], RMax); math.Abs(got-wantScores[s]) > 1e-15 {
			t.Errorf("score of submission %d: %v, want %v", s, got, wantScores[s])
		}
	}
	// The exact integral equals a fine Riemann sum of the profile.
	for s := range times {
		const n = 300000
		sum := 0.0
		for i := 0; i < n; i++ {
			tau := 1 + (RMax-1)*(float64(i)+0.5)/n
			sum += Profile(ratios[s], []float64{tau})[0]
		}
		if got := sum / n; math.Abs(got-wantScores[s]) > 1e-5 {
			t.Errorf("Riemann sum of submission %d's profile: %v, want %v", s, got, wantScores[s])
		}
	}
	// Nobody reaches a workload's target: every ratio there is ∞.
	if r := Ratios([][]float64{{inf}, {inf}}); r[0][0] != inf || r[1][0] != inf {
		t.Errorf("ratios on a workload nobody reached: %v", r)
	}
	// One workload, one submission that reached it: score 1.
	if got := BenchmarkScore([]float64{1}, RMax); got != 1 {
		t.Errorf("score of a submission fastest everywhere: %v, want 1", got)
	}
}

func TestProfileSteps(t *testing.T) {
	x, y := profileSteps([]float64{1, 2, inf}, 4)
	wantX, wantY := []float64{1, 2, 2, 4}, []float64{1.0 / 3, 1.0 / 3, 2.0 / 3, 2.0 / 3}
	if !slices.Equal(x, wantX) || !slices.Equal(y, wantY) {
		t.Errorf("profileSteps: %v %v, want %v %v", x, y, wantX, wantY)
	}
}

func TestBudgetCurve(t *testing.T) {
	studies := [][]float64{{inf, 300, 200}, {150, inf, inf}}
	// k=1: studies' bests ∞ and 150, median ∞; k=2: 300 and 150 → 225; k=3: 200 and 150 → 175.
	want := []float64{inf, 225, 175}
	if got := BudgetCurve(studies); !slices.Equal(got, want) {
		t.Errorf("BudgetCurve(%v) = %v, want %v", studies, got, want)
	}
	// A curve never rises with more budget.
	got := BudgetCurve([][]float64{{400, 100, 300, 50}, {200, 250, 80, 90}, {inf, 70, 60, 500}})
	for k := 1; k < len(got); k++ {
		if got[k] > got[k-1] {
			t.Errorf("budget curve rises at k=%d: %v", k+1, got)
		}
	}
}

func TestOutcomeOf(t *testing.T) {
	acc := Trial{Metric: ValAccuracy, Target: 0.97}
	h := &optlab.History{Evals: []optlab.Eval{
		{Step: 100, Seconds: 1, ValAccuracy: 0.5}, {Step: 200, Seconds: 2, ValAccuracy: 0.969},
		{Step: 300, Seconds: 3.5, ValAccuracy: 0.97}, {Step: 400, Seconds: 4, ValAccuracy: 0.98},
	}}
	o := OutcomeOf(acc, h)
	if !o.Reached || o.Steps != 300 || o.Seconds != 3.5 || o.Best != 0.98 || o.Time(Steps) != 300 || o.Time(Seconds) != 3.5 {
		t.Errorf("accuracy outcome %+v: want reached at step 300 (3.5 s), best 0.98", o)
	}
	loss := Trial{Metric: ValLoss, Target: 1}
	h = &optlab.History{Evals: []optlab.Eval{{Step: 10, ValLoss: 2}, {Step: 20, ValLoss: 1.0001}, {Step: 30, ValLoss: 1.5}}, Err: "diverged"}
	o = OutcomeOf(loss, h)
	if o.Reached || o.Best != 1.0001 || !o.Diverged || o.Time(Steps) != inf {
		t.Errorf("loss outcome %+v: want not reached, best 1.0001, diverged, time ∞", o)
	}
	if o := OutcomeOf(loss, &optlab.History{}); o.Reached || !math.IsNaN(o.Best) {
		t.Errorf("outcome of no evaluations: %+v", o)
	}
}

func ExampleBenchmarkScore() {
	// Steps to target of three optimizers on two workloads (∞: never reached).
	times := [][]float64{{100, 200}, {200, 100}, {500, math.Inf(1)}}
	for _, r := range Ratios(times) {
		fmt.Printf("ratios %v  ρ(1.5) = %.2f  ρ(2) = %.2f  B = %.3f\n", r,
			Profile(r, []float64{1.5})[0], Profile(r, []float64{2})[0], BenchmarkScore(r, RMax))
	}
	// Output:
	// ratios [1 2]  ρ(1.5) = 0.50  ρ(2) = 1.00  B = 0.833
	// ratios [2 1]  ρ(1.5) = 0.50  ρ(2) = 1.00  B = 0.833
	// ratios [5 +Inf]  ρ(1.5) = 0.00  ρ(2) = 0.00  B = 0.000
}

func ExampleConfig_Trials() {
	cfg := Config{Workloads: []string{"mnist_algoperf"}, Optimizers: []string{"adam"}, Ruleset: ExternalTuning, Budget: 2, Studies: 2}
	trials, _ := cfg.Trials()
	for _, t := range trials {
		fmt.Printf("study %d trial %d seed %d: %s\n", t.Study, t.Index, t.Seed, Submission(t.Optimizer))
	}
	// Output:
	// study 0 trial 0 seed 1: adam(lr=0.00187,b1=0.698)
	// study 0 trial 1 seed 2: adam(lr=0.00059,b1=0.9647)
	// study 1 trial 0 seed 1001: adam(lr=0.000203,b1=0.9603)
	// study 1 trial 1 seed 1002: adam(lr=0.00642,b1=0.884)
}

// fabricated returns a record of trial t whose evaluations reach the target
// first at step reach (never when reach is 0).
func fabricated(t Trial, reach int) sweep.Record {
	h := &optlab.History{}
	for step := t.EvalEvery; step <= t.Steps; step += t.EvalEvery {
		e := optlab.Eval{Step: step, Seconds: float64(step) / 100}
		ok := reach > 0 && step >= reach
		if t.Metric == ValLoss {
			e.ValLoss = map[bool]float64{true: t.Target - 0.01, false: t.Target + 10}[ok]
		} else {
			e.ValAccuracy = map[bool]float64{true: t.Target + 0.001, false: t.Target - 0.1}[ok]
		}
		h.Evals = append(h.Evals, e)
		if ok && t.StopAtTarget {
			break
		}
	}
	st := t.Sweep()
	return sweep.Record{ID: st.ID(), Trial: st, Hist: h}
}

// TestComputeHandExample scores fabricated trials whose steps to target were
// chosen by hand, through Compute, and checks every number against a hand
// computation (written out below).
func TestComputeHandExample(t *testing.T) {
	cfg := Config{Workloads: []string{"quadratic_deep", "mnist_algoperf"}, Optimizers: []string{"sgd", "adam"}, Ruleset: ExternalTuning, Budget: 3, Studies: 3}
	trials, err := cfg.Trials()
	if err != nil {
		t.Fatal(err)
	}
	// reach[workload][optimizer][study][trial]: the step of the first
	// evaluation that reaches the target, 0 for never.
	reach := map[string]map[string][3][3]int{
		// sgd: study times 200, 500, ∞ → median 500; adam: 100, 250, 300 → 250.
		"quadratic_deep": {"sgd": {{0, 300, 200}, {500, 0, 0}, {0, 0, 0}}, "adam": {{100, 0, 400}, {0, 250, 0}, {300, 600, 0}}},
		// sgd: 1000, 800, 900 → 900; adam: ∞, 2000, ∞ → ∞.
		"mnist_algoperf": {"sgd": {{1000, 0, 0}, {0, 800, 1200}, {900, 0, 0}}, "adam": {{0, 0, 0}, {0, 0, 2000}, {0, 0, 0}}},
	}
	var recs []sweep.Record
	for _, tr := range trials {
		recs = append(recs, fabricated(tr, reach[tr.Workload][tr.Submission][tr.Study][tr.Index]))
	}
	sc, err := Compute(recs, ScoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Workloads and optimizers in name order: mnist_algoperf, quadratic_deep; adam, sgd.
	if !slices.Equal(sc.Workloads, []string{"mnist_algoperf", "quadratic_deep"}) || !slices.Equal(sc.Submissions, []string{"adam", "sgd"}) {
		t.Fatalf("workloads %v, submissions %v", sc.Workloads, sc.Submissions)
	}
	wantTimes := [][]float64{{inf, 250}, {900, 500}}
	// Ratios: on mnist_algoperf sgd is fastest, adam never got there; on
	// quadratic_deep adam is fastest and sgd takes twice as long.
	wantRatios := [][]float64{{inf, 1}, {1, 2}}
	// B: adam (0 + 3)/6, sgd (3 + 2)/6.
	wantScores := []float64{0.5, 5.0 / 6}
	// Each study alone: study 0 adam [∞,100] sgd [1000,200] → 0.5, 5/6;
	// study 1 adam [2000,250] sgd [800,500] → ratios adam 2.5, 1 and sgd 1, 2
	// → (1.5+3)/6 = 0.75 and 5/6; study 2 adam [∞,300] sgd [900,∞] → 0.5, 0.5.
	wantStudy := [][]float64{{0.5, 0.75, 0.5}, {5.0 / 6, 5.0 / 6, 0.5}}
	for s := range wantTimes {
		if !slices.Equal(sc.Times[s], wantTimes[s]) || !slices.Equal(sc.Ratios[s], wantRatios[s]) {
			t.Errorf("%s: times %v ratios %v, want %v and %v", sc.Submissions[s], sc.Times[s], sc.Ratios[s], wantTimes[s], wantRatios[s])
		}
		if math.Abs(sc.Scores[s]-wantScores[s]) > 1e-15 {
			t.Errorf("%s: score %v, want %v", sc.Submissions[s], sc.Scores[s], wantScores[s])
		}
		for k := range wantStudy[s] {
			if math.Abs(sc.StudyScores[s][k]-wantStudy[s][k]) > 1e-15 {
				t.Errorf("%s: study scores %v, want %v", sc.Submissions[s], sc.StudyScores[s], wantStudy[s])
			}
		}
	}
	if sc.Best() != "sgd" || sc.Studies != 3 || sc.Budget != 3 || len(sc.Notes) != 0 {
		t.Errorf("best %s, %d studies × %d, notes %v", sc.Best(), sc.Studies, sc.Budget, sc.Notes)
	}
	// sgd on quadratic_deep: the best of the first k trials per study is
	// (∞, 500, ∞) at k=1, (300, 500, ∞) at k=2, (200, 500, ∞) at k=3.
	if got := sc.Cells[1][1].BudgetCurve(Steps); !slices.Equal(got, []float64{inf, 500, 500}) {
		t.Errorf("budget curve of sgd on quadratic_deep: %v", got)
	}
	// Every table and figure renders; the text says what the numbers say.
	text := sc.Text()
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	quad, _ := GetWorkload("quadratic_deep")
	for _, want := range []string{"sgd 0.833 0.500–0.833 2/2 900 500", "adam 0.500 0.500–0.750 1/2 ∞ 250", "sgd 1.00 2.00", "adam ∞ 1.00",
		fmt.Sprintf("quadratic_deep val_loss ≤ %g adam 3/3 250 adam(lr=0.00187,", quad.Target)} {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, want)
		}
		if !found {
			t.Errorf("report text lacks a line %q:\n%s", want, text)
		}
	}
	dir := t.TempDir()
	if d := os.Getenv("OPTLAB_BENCHMARK_FIGURES"); d != "" {
		dir = d // to look at the figures
	}
	if _, err := sc.Save(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"profile.png", "lr.png", "budget.png", "scores.csv", "scores.md"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "scores.csv"))
	if !strings.Contains(string(csv), "external,steps,sgd,0.83333333,quadratic_deep,500,2,2,200,500,+Inf") {
		t.Errorf("scores.csv:\n%s", csv)
	}
}

// TestBudgetFigureLegend: the budget figure leaves out workloads that no
// median study finished and gives each panel drawn its legend (here the only
// panel: quadratic_deep, last in name order, has no curve).
func TestBudgetFigureLegend(t *testing.T) {
	cfg := Config{Workloads: []string{"quadratic_deep", "mnist_algoperf"}, Optimizers: []string{"sgd", "adam"}, Ruleset: ExternalTuning, Budget: 3, Studies: 3}
	trials, err := cfg.Trials()
	if err != nil {
		t.Fatal(err)
	}
	var recs []sweep.Record
	for _, tr := range trials {
		step := 0
		if tr.Workload == "mnist_algoperf" && tr.Submission == "sgd" && tr.Index == tr.Study%2 {
			step = 900 + 100*tr.Study
		}
		recs = append(recs, fabricated(tr, step))
	}
	sc, err := Compute(recs, ScoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fig, err := sc.BudgetFigure()
	if err != nil {
		t.Fatal(err)
	}
	svg, err := fig.SVG()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{">mnist_algoperf<", ">sgd<"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("budget figure lacks %s", want)
		}
	}
	if strings.Contains(string(svg), ">quadratic_deep<") {
		t.Error("budget figure has a panel for quadratic_deep, which no study finished")
	}
}
