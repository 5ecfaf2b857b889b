package landscape

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads best unqualified
)

// Linear returns the objective f(w) = Σᵢ cᵢ·wᵢ, whose gradient is the
// constant c wherever w is: with it, any change in an optimizer's step comes
// from the optimizer's own state (moment estimates, bias correction, ε), not
// from the landscape. w must have len(c) coordinates.
func Linear(c ...float64) Objective {
	return func(w *Node) *Node {
		return ReduceAllSum(Mul(ConstAs(w, c), w))
	}
}
