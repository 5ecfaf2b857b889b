package sweep

import (
	"strings"

	"optlab.dev/optlab/optimizers"
)

// family returns opt's canonical spec without its learning rate: trials that
// differ only in lr share it, and the report card draws one line per family.
// A wrapper's base is written without its learning rate too (a grid's lrs
// set the base's).
func family(opt *optimizers.Optimizer) string {
	return withArgs(opt, func(a optimizers.Arg) bool { return a.Key != "lr" }, family)
}

// label returns the optimizer's name followed by the arguments other than lr
// that differ from its defaults (keras=true included, since it changes the
// meaning of the others), or the bare name when there are none; a wrapper's
// base is labelled the same way: "lookahead(base=adam,k=10)".
func label(opt *optimizers.Optimizer) string {
	s := withArgs(opt, func(a optimizers.Arg) bool {
		return a.Key != "lr" && (!a.Default || (a.Key == "keras" && a.Value == "true"))
	}, label)
	return strings.TrimSuffix(s, "()")
}

// withArgs returns "name(k=v,...)" with the canonical arguments keep accepts,
// a wrapper's base written by base.
func withArgs(opt *optimizers.Optimizer, keep func(optimizers.Arg) bool, base func(*optimizers.Optimizer) string) string {
	var args []string
	for _, a := range opt.Args() {
		if !keep(a) {
			continue
		}
		v := a.Value
		if a.Key == "base" && opt.Base() != nil {
			v = base(opt.Base())
		}
		args = append(args, a.Key+"="+v)
	}
	return opt.Family() + "(" + strings.Join(args, ",") + ")"
}
