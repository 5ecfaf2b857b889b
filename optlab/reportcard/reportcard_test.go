package reportcard

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"optlab.dev/optlab"
	"optlab.dev/optlab/plots"
	"optlab.dev/optlab/store"
	"optlab.dev/optlab/sweep"
	"optlab.dev/optlab/sweep/sweeptest"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// writeStore writes records to a new store at path.
func writeStore(t *testing.T, path string, recs ...sweep.Record) {
	t.Helper()
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendAll(recs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestReportCardFromKnownRecords(t *testing.T) {
	var recs []sweep.Record
	add := func(spec string, seed int64, acc float64, diverged bool) {
		r := sweeptest.FakeRecord(t, spec, seed, acc)
		if diverged {
			r.Hist.Err = "diverged: loss is NaN at epoch 2, step 11"
			r.Hist.Epochs = r.Hist.Epochs[:1]
		}
		recs = append(recs, r)
	}
	add("adam(lr=0.01)", 1, 0.90, false)
	add("adam(lr=0.01)", 2, 0.92, false)
	add("adam(lr=0.1)", 1, 0.95, false)
	add("adam(lr=0.1)", 2, 0.93, false)
	add("adam(lr=1)", 1, 0.99, false) // better, but another seed diverged at this rate
	add("adam(lr=1)", 2, 0, true)
	add("sgd(lr=0.1)", 1, 0.88, false)
	add("sgd(lr=0.1)", 2, 0.86, false)

	rep := Build(recs, Options{})
	if len(rep.Cards) != 2 || rep.Trials != 8 {
		t.Fatalf("%d cards from %d trials", len(rep.Cards), rep.Trials)
	}
	adam, sgd := rep.Cards[0], rep.Cards[1]
	if adam.Optimizer != "adam" || sgd.Optimizer != "sgd" {
		t.Fatalf("cards %q, %q", adam.Optimizer, sgd.Optimizer)
	}
	if adam.BestLR != 0.1 || !near(adam.Best.ValAccMean, 0.94) || adam.Best.Runs != 2 {
		t.Errorf("adam best lr %v (val %v), want 0.1 (0.94): a rate where a seed diverged is not eligible", adam.BestLR, adam.Best.ValAccMean)
	}
	if p := adam.Grid[2]; p.LR != 1 || p.Diverged != 1 || !near(p.ValAccMean, 0.99) {
		t.Errorf("lr 1 point %+v", p)
	}
	if adam.GoodLRs != 1 || !near(adam.Spread, 0.03) {
		t.Errorf("adam sensitivity: good %d spread %v, want 1 and 0.03", adam.GoodLRs, adam.Spread)
	}
	if !near(adam.Best.TestAccMean, 0.93) || !near(adam.Best.TestAccStd, math.Sqrt(2*0.01*0.01)) {
		t.Errorf("adam test accuracy %v ± %v", adam.Best.TestAccMean, adam.Best.TestAccStd)
	}
	if !near(adam.Gap, 0.01) || !near(adam.TrainAcc, 0.94) {
		t.Errorf("adam gap %v train %v", adam.Gap, adam.TrainAcc)
	}
	if !near(adam.StepSeconds, (0.75-0.3)/19) || adam.StateBytes != 62800 {
		t.Errorf("adam step %v state %d", adam.StepSeconds, adam.StateBytes)
	}
	// Automatic target: sgd's best mean validation accuracy 0.87 (a multiple
	// of half a point already). Adam's runs reach it at epoch 1 (0.90, 0.88
	// there); sgd's at epoch 2 for seed 1 only (0.88): seed 2 ends at 0.86.
	if !near(rep.Options.Target, 0.87) {
		t.Fatalf("target %v, want 0.87", rep.Options.Target)
	}
	if adam.Reached != 2 || !near(adam.EpochsToTarget, 1) || !near(adam.StepsToTarget, 10) {
		t.Errorf("adam to target: %d runs, %v epochs, %v steps", adam.Reached, adam.EpochsToTarget, adam.StepsToTarget)
	}
	if sgd.Reached != 1 || !near(sgd.EpochsToTarget, 2) {
		t.Errorf("sgd to target: %d runs, %v epochs", sgd.Reached, sgd.EpochsToTarget)
	}
	if sgd.GoodLRs != 1 || len(sgd.Grid) != 1 {
		t.Errorf("sgd grid %+v", sgd.Grid)
	}

	table := rep.Table().String()
	// 95% CI of two seeds: t(0.975, 1) = 12.706 × std / √2 = 12.706 × 0.01.
	if !near(adam.Best.TestAccCI, 12.706204736174694*0.01) {
		t.Errorf("adam test accuracy CI half-width %v, want 0.12706", adam.Best.TestAccCI)
	}
	if adam.NotReached != 0 || sgd.NotReached != 1 || len(sgd.Seeds) != 2 || !math.IsNaN(sgd.Seeds[1].Steps) || sgd.Seeds[0].Steps != 20 {
		t.Errorf("sgd's runs at its best rate: %+v (not reached %d)", sgd.Seeds, sgd.NotReached)
	}
	// Adam's good window (0.1 alone) lies inside its grid; sgd's one rate is
	// both ends of its grid.
	if adam.GoodAtEdge || !sgd.GoodAtEdge {
		t.Errorf("good window at the grid's edge: adam %v (want false), sgd %v (want true)", adam.GoodAtEdge, sgd.GoodAtEdge)
	}
	for _, want := range []string{"adam", "sgd", "0.1", "93.00 ± 12.71%", "leader", "-7.00 ± 0.00 pp", "+0.0100", "10 ± 0 (2/2)", "20 (1/2)", "61 KiB", "1/3", "test data"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	lr := rep.LRTable().String()
	for _, want := range []string{"0.9400 ± 0.0141 *", "(1 div.)", "lr 0.01"} {
		if !strings.Contains(lr, want) {
			t.Errorf("lr table lacks %q:\n%s", want, lr)
		}
	}
	hl := strings.Join(rep.Highlights(), "\n")
	for _, want := range []string{"Highest validation accuracy (the sweep's choice): adam at lr 0.1", "Fastest to 0.870 validation accuracy: adam, in 10 steps"} {
		if !strings.Contains(hl, want) {
			t.Errorf("highlights lack %q:\n%s", want, hl)
		}
	}
	// An explicit target nobody reaches.
	rep = Build(recs, Options{Target: 0.999})
	if rep.Cards[0].Reached != 0 || !math.IsNaN(rep.Cards[0].EpochsToTarget) || !strings.Contains(rep.Table().String(), "not reached") {
		t.Errorf("unreachable target: %+v", rep.Cards[0])
	}
}

func TestMergedStoresReportLikeOneStore(t *testing.T) {
	recs := sweeptest.TinySweep(t)
	dir := t.TempDir()
	one := filepath.Join(dir, "one.db")
	writeStore(t, one, recs...)
	// Two "machines", each with half of the trials, written in another order.
	var a, b []sweep.Record
	for i := len(recs) - 1; i >= 0; i-- {
		if i%3 == 0 {
			a = append(a, recs[i])
		} else {
			b = append(b, recs[i])
		}
	}
	writeStore(t, filepath.Join(dir, "a.db"), a...)
	writeStore(t, filepath.Join(dir, "b.db"), append(b, a[0])...) // one trial ran on both
	merged := filepath.Join(dir, "merged.db")
	st, err := store.Merge(merged, []string{filepath.Join(dir, "b.db"), filepath.Join(dir, "a.db")}, nil)
	if err != nil || st.Added != len(recs) || st.Duplicates != 1 {
		t.Fatalf("merge: %+v, %v", st, err)
	}
	read := func(paths ...string) *Report {
		rs, damage, err := store.ReadAll(paths...)
		if err != nil || len(damage) != 0 {
			t.Fatalf("ReadAll(%v): %v %v", paths, err, damage)
		}
		return Build(rs, Options{})
	}
	want := read(one).Markdown(nil)
	if got := read(merged).Markdown(nil); got != want {
		t.Errorf("merged store reports differently:\n%s\nwant:\n%s", got, want)
	}
	if got := read(filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")).Markdown(nil); got != want {
		t.Errorf("reading both stores reports differently:\n%s\nwant:\n%s", got, want)
	}
	rep := read(one)
	if len(rep.Cards) != 2 || len(rep.Cards[0].Grid) != 2 || rep.Cards[0].Best.Runs != 2 {
		t.Fatalf("report of the tiny sweep: %+v", rep.Cards)
	}
	for _, c := range rep.Cards {
		if c.Reached == 0 || c.StateBytes == 0 || !(c.StepSeconds > 0) || math.IsNaN(c.Best.TestAccMean) {
			t.Errorf("card %s incomplete: %+v", c.Optimizer, c)
		}
	}
	paths, err := rep.Save(filepath.Join(dir, "report"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || st.Size() < 200 {
			t.Errorf("%s: %v", p, err)
		}
	}
	md, _ := os.ReadFile(paths[0])
	if !strings.Contains(string(md), "![learning-rate sensitivity](lr.png)") || !strings.Contains(string(md), "| sgd(momentum=0.9) |") {
		t.Errorf("report.md:\n%s", md)
	}
}

func TestReportWithAFamilyThatAlwaysDiverged(t *testing.T) {
	var recs []sweep.Record
	for _, seed := range []int64{1, 2} {
		recs = append(recs, sweeptest.FakeRecord(t, "adam(lr=0.01)", seed, 0.9))
		r := sweeptest.FakeRecord(t, "sgd(lr=100)", seed, 0)
		r.Hist.Err = "diverged: loss is +Inf at epoch 1, step 3"
		r.Hist.Epochs = nil
		r.Hist.TestLoss, r.Hist.TestAccuracy = math.NaN(), math.NaN()
		recs = append(recs, r)
	}
	// The records survive the store (NaN included) before being reported.
	path := filepath.Join(t.TempDir(), "s.db")
	writeStore(t, path, recs...)
	c, err := store.Read(path)
	if err != nil || len(c.Records) != 4 {
		t.Fatalf("%v, %d records", err, len(c.Records))
	}
	rep := Build(c.Records, Options{})
	if len(rep.Cards) != 2 {
		t.Fatalf("%d cards", len(rep.Cards))
	}
	sgd := rep.Cards[1]
	if sgd.Optimizer != "sgd" || !math.IsNaN(sgd.BestLR) || sgd.Grid[0].Diverged != 2 || sgd.Reached != 0 {
		t.Fatalf("diverged card %+v", sgd)
	}
	if !near(rep.Options.Target, 0.9) {
		t.Errorf("target %v should come from the optimizer that trained", rep.Options.Target)
	}
	if !strings.Contains(rep.LRTable().String(), "div") || !strings.Contains(rep.Table().String(), "2 (2 div.)") {
		t.Errorf("tables do not show the divergence:\n%s\n%s", rep.Table(), rep.LRTable())
	}
	if _, err := rep.Save(filepath.Join(t.TempDir(), "r")); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

func TestReportWhenEveryRunDiverged(t *testing.T) {
	r := sweeptest.FakeRecord(t, "sgd(lr=100)", 1, 0)
	r.Hist.Err = "diverged: loss is NaN at epoch 1, step 2"
	r.Hist.Epochs = nil
	rep := Build([]sweep.Record{r}, Options{})
	paths, err := rep.Save(t.TempDir())
	if err != nil || len(paths) != 2 || !strings.HasSuffix(paths[1], "bars.png") {
		t.Fatalf("Save: %v, %v", paths, err)
	}
	if hl := strings.Join(rep.Highlights(), "\n"); strings.Contains(hl, "Highest validation accuracy") {
		t.Errorf("highlights claim an accuracy:\n%s", hl)
	}
}

// evalRecord is a fake record of an optimizer that evaluated every 5 steps
// of 10-step epochs, first reaching validation accuracy 0.9 at step reach
// (never, for reach 0), ending at test accuracy acc.
func evalRecord(t *testing.T, spec string, seed int64, reach int, acc float64) sweep.Record {
	r := sweeptest.FakeRecord(t, spec, seed, acc)
	r.Trial.EvalEvery = 5
	r.ID = r.Trial.ID()
	for step := 5; step <= 20; step += 5 {
		va := 0.8
		if reach > 0 && step >= reach {
			va = 0.9
		}
		r.Hist.Evals = append(r.Hist.Evals, optlab.Eval{Step: step, ValAccuracy: va})
	}
	r.Hist.Members = 4
	return r
}

// TestPairedStepsWithinEpochs: steps to the target come from the
// evaluations within epochs (fractional epochs), runs that never reach it are
// counted, and paired differences use the seeds both optimizers have.
func TestPairedStepsWithinEpochs(t *testing.T) {
	var recs []sweep.Record
	for seed, s := range map[int64][2]int{1: {5, 15}, 2: {5, 20}, 3: {10, 0}} {
		recs = append(recs, evalRecord(t, "adam(lr=0.01)", seed, s[0], 0.95+0.001*float64(seed)))
		recs = append(recs, evalRecord(t, "sgd(lr=0.1)", seed, s[1], 0.93+0.003*float64(seed)))
	}
	rep := Build(recs, Options{Target: 0.9})
	adam, err := rep.Card("adam")
	if err != nil {
		t.Fatal(err)
	}
	sgd, err := rep.Card("sgd")
	if err != nil {
		t.Fatal(err)
	}
	if w := adam.GoodWindow(); w != 0 {
		t.Errorf("adam's window of one rate: %v decades, want 0", w)
	}
	named := Build(recs, Options{Target: 0.9, Label: func(t sweep.Trial) string {
		if t.Optimizer.Name() == "adam" {
			return "Adam"
		}
		return ""
	}})
	if _, err := named.Card("Adam"); err != nil || named.Cards[1].Optimizer != "sgd" {
		t.Errorf("Options.Label: cards %q and %q (%v), want Adam and sgd", named.Cards[0].Optimizer, named.Cards[1].Optimizer, err)
	}
	if _, err := rep.Card("lamb"); err == nil || !strings.Contains(err.Error(), "adam, sgd") {
		t.Errorf("unknown card: error %v should list the cards", err)
	}
	if adam.Reached != 3 || !near(adam.StepsToTarget, 20.0/3) || !near(adam.EpochsToTarget, 2.0/3) || adam.EvalEvery != 5 {
		t.Errorf("adam: reached %d, %v steps, %v epochs (want 3, 6.67, 0.667)", adam.Reached, adam.StepsToTarget, adam.EpochsToTarget)
	}
	if sgd.Reached != 2 || sgd.NotReached != 1 || !near(sgd.StepsToTarget, 17.5) {
		t.Errorf("sgd: reached %d, not %d, %v steps (want 2, 1, 17.5)", sgd.Reached, sgd.NotReached, sgd.StepsToTarget)
	}
	// Steps: seeds 1 and 2 only (sgd's seed 3 never reached): −10 and −15.
	d := rep.Paired(adam, sgd, StepsToTarget)
	half := 12.706204736174694 * math.Sqrt(12.5) / math.Sqrt(2)
	if d.N != 2 || !near(d.Mean, -12.5) || !near(d.Hi-d.Mean, half) || d.Resolved() {
		t.Errorf("paired steps %+v, want −12.5 ± %v over 2 seeds, unresolved", d, half)
	}
	// Test accuracy, 3 seeds: adam − sgd = 0.02 − 0.002·seed.
	d = rep.Paired(adam, sgd, TestAccuracy)
	if d.N != 3 || !near(d.Mean, 0.016) || !d.Resolved() {
		t.Errorf("paired test accuracy %+v, want +0.016 over 3 seeds, resolved", d)
	}
	if l, ok := rep.Leader(); !ok || l.Optimizer != "adam" {
		t.Errorf("leader %q, want adam (higher validation accuracy)", l.Optimizer)
	}
	// A population's step time is shared by its members.
	if want := (0.75 - 0.3) / 19 / 4; !near(adam.StepSeconds, want) {
		t.Errorf("step time %v, want a quarter of the population's %v", adam.StepSeconds, want*4)
	}
	table := rep.Table().String()
	for _, want := range []string{"7 ± 7 (3/3)", "18 ± 32 (2/3)", "every 5 steps"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	for name, mk := range map[string]func() (*plots.Figure, error){"accuracy": rep.AccuracyFigure, "steps": rep.StepsFigure} {
		f, err := mk()
		if err != nil {
			t.Fatalf("%s figure: %v", name, err)
		}
		if _, err := f.PNG(); err != nil {
			t.Errorf("%s figure: %v", name, err)
		}
	}
}

// TestWiderWindow: a window at its grid's edge is a lower bound, and a card
// without good rates compares with nothing.
func TestWiderWindow(t *testing.T) {
	card := func(lo, hi float64, edge bool) Card {
		return Card{GoodLRs: 2, GoodLo: lo, GoodHi: hi, GoodAtEdge: edge}
	}
	for _, tc := range []struct {
		name string
		a, b Card
		want int
	}{
		{"wider", card(1e-3, 1e-1, false), card(1e-2, 1e-1, false), 1},
		{"narrower", card(1e-2, 1e-1, false), card(1e-3, 1e-1, false), -1},
		{"equal", card(1e-3, 1e-2, false), card(1e-2, 1e-1, false), 0},
		{"wider than a window at its edge", card(1e-3, 1e-1, false), card(1e-2, 1e-1, true), 0},
		{"narrower but at its edge", card(1e-2, 1e-1, true), card(1e-3, 1e-1, false), 0},
		{"wider and at its edge", card(1e-3, 1e-1, true), card(1e-2, 1e-1, false), 1},
		{"no good rates", Card{GoodLo: math.NaN(), GoodHi: math.NaN()}, card(1e-2, 1e-1, false), 0},
	} {
		if got := WiderWindow(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: WiderWindow = %d, want %d", tc.name, got, tc.want)
		}
	}
}
