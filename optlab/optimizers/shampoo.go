package optimizers

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
)

// ShampooConfig configures Shampoo. Start from DefaultShampooConfig: a zero
// field is taken as given. Each field's spec key is in its comment.
type ShampooConfig struct {
	LR                    float64 // lr: learning rate η
	Eps                   float64 // eps: ε, the statistics' initial value εI
	BlockSize             int     // block_size: largest side B of a preconditioned block
	PreconditionFrequency int     // precondition_frequency: steps f between refreshes of the inverse roots
	Root                  string  // root: how the inverse roots are computed, "newton" or "eigh"
}

// DefaultShampooConfig returns lr 0.1, ε 1e-4 and blocks of 128 (the paper
// gives no defaults), with the paper's refresh at every step.
func DefaultShampooConfig() ShampooConfig {
	return ShampooConfig{LR: 0.1, Eps: 1e-4, BlockSize: 128, PreconditionFrequency: 1, Root: "newton"}
}

func (c *ShampooConfig) params() []param {
	return []param{
		lrParam(&c.LR),
		epsParam(&c.Eps, "initial value εI of the statistics L, R (H for vectors)"),
		intParam("block_size", &c.BlockSize, "largest side of a preconditioned block (cost O(B³) per refresh)", atLeastOne),
		intParam("precondition_frequency", &c.PreconditionFrequency, "steps between refreshes of the inverse roots (1: every step)", atLeastOne),
		enumParam("root", &c.Root, "inverse roots by the coupled Newton iteration (matrix products, every step) "+
			"or by a Jacobi eigendecomposition (eigh: on refresh steps only, slower per refresh)", "newton", "eigh"),
	}
}

// Shampoo preconditions each block of a matrix parameter on both sides by the
// inverse fourth roots of the accumulated row and column statistics (Gupta,
// Koren & Singer 2018, "Shampoo: Preconditioned Stochastic Tensor
// Optimization", ICML, arXiv 1802.09568, Algorithm 1; vectors: Algorithm 2
// with k = 1, full-matrix AdaGrad), with the blocks and the refresh interval
// of Anil et al. 2020, "Scalable Second Order Optimization for Deep Learning":
//
//	matrices, per block G: L = L + G·Gᵀ,  R = R + Gᵀ·G,  U = L^(−1/4)·G·R^(−1/4);
//	vectors, per block g: H = H + g·gᵀ,  U = H^(−1/2)·g;
//	p ← p − η·U
//
// L, R and H start at εI. A dimension of size N is cut into blocks [0, B),
// [B, 2B), … (the last one shorter). The roots are recomputed at t = 1, 1 + f,
// 1 + 2f, … from the statistics that include step t, and kept in between
// (stale roots of a vector amplify directions its first gradients did not
// see by up to ε^(−½): with f > 1 use a larger ε). Parameters of rank ≥ 3 are
// preconditioned as matrices [d₀, d₁·d₂·…], scalars as 1-vectors. The roots
// come from the coupled Newton iteration (root=newton, Anil et al.'s method:
// 40 iterations of matrix products, computed at every step because the
// graph has no branch, the result used on refresh steps), or from a
// symmetric eigendecomposition (root=eigh: Jacobi's method, whose loop runs
// on refresh steps only but takes many sequential rounds; the paper's
// definition, and the reference's). Both agree with the NumPy goldens to
// 1e-11. Grafting, momentum and weight decay of practical Shampoo are not
// included.
//
// Chain: ShampooUpdate.
func Shampoo(c ShampooConfig) (*Optimizer, error) {
	return named("shampoo", &c, ShampooUpdate{Eps: c.Eps, BlockSize: c.BlockSize, Frequency: c.PreconditionFrequency,
		Eigh: c.Root == "eigh"})
}

// ShampooUpdate is Shampoo's update: the preconditioned direction U times
// −η; see Shampoo for the equations. Its state is per block: L, R (and their
// roots when Frequency > 1) for matrices, H (and its root) for vectors;
// nothing of the parameter's shape (Slots 0; see StateSize).
type ShampooUpdate struct {
	Eps       float64
	BlockSize int
	Frequency int
	// Eigh computes the roots by eigendecomposition instead of the coupled
	// Newton iteration.
	Eigh bool
}

// Slots implements Transform: none of the parameter's shape.
func (ShampooUpdate) Slots() int { return 0 }

// blockGroup is a run of count blocks of side size starting at offset.
type blockGroup struct{ size, count, offset int }

// blockGroups cuts a dimension of n into blocks of at most b: the full ones,
// then the shorter last one.
func blockGroups(n, b int) []blockGroup {
	var gs []blockGroup
	if full := n / b; full > 0 {
		gs = append(gs, blockGroup{b, full, 0})
	}
	if r := n % b; r > 0 {
		gs = append(gs, blockGroup{r, 1, n - r})
	}
	return gs
}

// shampooShape is the shape Shampoo preconditions a parameter of dims as: a
// vector [n] or a matrix [m, n].
func shampooShape(dims []int) []int {
	switch len(dims) {
	case 0:
		return []int{1}
	case 1, 2:
		return dims
	}
	rest := 1
	for _, d := range dims[1:] {
		rest *= d
	}
	return []int{dims[0], rest}
}

// StateSize implements StateSizer.
func (o ShampooUpdate) StateSize(dims []int) int64 {
	copies := int64(1) // the statistics
	if o.Frequency > 1 {
		copies = 2 // and their stored roots
	}
	sh := shampooShape(dims)
	var n int64
	if len(sh) == 1 {
		for _, b := range blockGroups(sh[0], o.BlockSize) {
			n += int64(b.count * b.size * b.size)
		}
		return copies * n
	}
	for _, rg := range blockGroups(sh[0], o.BlockSize) {
		for _, cg := range blockGroups(sh[1], o.BlockSize) {
			n += int64(rg.count*cg.count) * int64(rg.size*rg.size+cg.size*cg.size)
		}
	}
	return copies * n
}

// Apply implements Transform.
//
// The inverse roots are computed after every parameter's statistics are
// known, all statistics of one size in one eigendecomposition (one loop),
// whatever parameter, block or side they come from: the loop's sequential
// rounds are paid once per size rather than once per statistic.
func (o ShampooUpdate) Apply(s *Step, u []*Node) []*Node {
	refresh := s.First
	if o.Frequency > 1 {
		step := s.StepInt()
		one := Scalar(s.Graph(), step.DType(), 1)
		refresh = Equal(Rem(Sub(step, one), Scalar(s.Graph(), step.DType(), o.Frequency)), ZerosLike(step))
	}
	var roots rootBatch
	finish := make([]func() *Node, len(u))
	for i, g := range u {
		sh := shampooShape(g.Shape().Dimensions)
		x := Reshape(g, sh...)
		if len(sh) == 1 {
			finish[i] = o.vector(s, i, x, &roots)
		} else {
			finish[i] = o.matrix(s, i, x, &roots)
		}
	}
	roots.run(s, o.Frequency > 1, refresh, o.Eigh)
	return mapEach(u, func(i int, g *Node) *Node {
		return Neg(Mul(s.LR, Reshape(finish[i](), g.Shape().Dimensions...)))
	})
}

// statistic returns stat + a, where stat starts at εI.
func (o ShampooUpdate) statistic(s *Step, i int, name string, a *Node) *Node {
	dims := a.Shape().Dimensions
	init := Mul(s.Const(o.Eps), BroadcastToDims(ExpandAxes(eye(s.Graph(), s.DType(), dims[1]), 0), dims...))
	stat := Add(Where(s.First, init, s.SlotWithShape(name, i, dims...)), a)
	s.SetSlotWithShape(name, i, stat)
	return stat
}

// rootRequest is one batch of statistics ([k, n, n]) whose inverse p-th
// roots an update needs; root is set by rootBatch.run.
type rootRequest struct {
	stat *Node
	p    float64
	i    int    // the parameter
	name string // the buffer that keeps the root between refreshes
	root *Node
}

// rootBatch collects rootRequests and computes them by size.
type rootBatch struct{ reqs []*rootRequest }

// add registers a request; its root is ready after run.
func (b *rootBatch) add(stat *Node, p float64, i int, name string) *rootRequest {
	r := &rootRequest{stat: stat, p: p, i: i, name: name}
	b.reqs = append(b.reqs, r)
	return r
}

// run computes the roots: one Newton iteration (or, eigh, one
// eigendecomposition) per matrix size and order for all the requests of that
// size. With stored roots (keep), the roots are used on refresh steps only
// (the eigendecomposition's loop runs no iteration otherwise) and read from
// their buffers in between.
func (b *rootBatch) run(s *Step, keep bool, refresh *Node, eigh bool) {
	type key struct {
		n int
		p float64
	}
	var sizes []key
	bySize := map[key][]*rootRequest{}
	for _, r := range b.reqs {
		n := key{r.stat.Shape().Dimensions[1], r.p}
		if eigh {
			n.p = 0 // one eigendecomposition serves every order
		}
		if bySize[n] == nil {
			sizes = append(sizes, n)
		}
		bySize[n] = append(bySize[n], r)
	}
	var active *Node
	if keep {
		active = refresh
	}
	for _, n := range sizes {
		reqs := bySize[n]
		stats := make([]*Node, len(reqs))
		for k, r := range reqs {
			stats[k] = r.stat
		}
		var vals, vecs, roots *Node
		if eigh {
			vals, vecs = symEig(concatenate(stats, 0), active, s.serial)
		} else {
			roots = newtonInverseRoot(concatenate(stats, 0), int(n.p), s.serial)
		}
		start := 0
		for _, r := range reqs {
			k := r.stat.Shape().Dimensions[0]
			part := AxisRange(start, start+k)
			if eigh {
				r.root = rootFromEig(Slice(vals, part), Slice(vecs, part), r.p, s.serial)
			} else {
				r.root = Slice(roots, part)
			}
			start += k
			if keep {
				old := s.SlotWithShape(r.name, r.i, r.stat.Shape().Dimensions...)
				r.root = Where(refresh, r.root, old)
				s.SetSlotWithShape(r.name, r.i, r.root)
			}
		}
	}
}

// vector is full-matrix AdaGrad per block of the vector x: H^(−1/2)·g. It
// registers the roots it needs and returns the function that builds the
// direction once they are computed.
func (o ShampooUpdate) vector(s *Step, i int, x *Node, roots *rootBatch) func() *Node {
	var finish []func() *Node
	for _, b := range blockGroups(x.Shape().Dimensions[0], o.BlockSize) {
		gb := Reshape(Slice(x, AxisRange(b.offset, b.offset+b.count*b.size)), b.count, b.size)
		tag := fmt.Sprint(b.size)
		h := o.statistic(s, i, "shampoo_H"+tag, s.Einsum("ki,kj->kij", gb, gb))
		root := roots.add(h, 2, i, "shampoo_H_root"+tag)
		finish = append(finish, func() *Node { return Reshape(s.Einsum("kij,kj->ki", root.root, gb), b.count*b.size) })
	}
	return func() *Node {
		parts := make([]*Node, len(finish))
		for k, f := range finish {
			parts[k] = f()
		}
		return concatenate(parts, 0)
	}
}

// matrix is L^(−1/4)·G·R^(−1/4) per block G of the matrix x, as vector.
func (o ShampooUpdate) matrix(s *Step, i int, x *Node, roots *rootBatch) func() *Node {
	dims := x.Shape().Dimensions
	var bands [][]func() *Node
	for _, rg := range blockGroups(dims[0], o.BlockSize) {
		var band []func() *Node
		for _, cg := range blockGroups(dims[1], o.BlockSize) {
			gb := Slice(x, AxisRange(rg.offset, rg.offset+rg.count*rg.size), AxisRange(cg.offset, cg.offset+cg.count*cg.size))
			gb = Reshape(Transpose(Reshape(gb, rg.count, rg.size, cg.count, cg.size), 1, 2), rg.count*cg.count, rg.size, cg.size)
			tag := fmt.Sprintf("%dx%d", rg.size, cg.size)
			l := o.statistic(s, i, "shampoo_L"+tag, s.Einsum("kij,klj->kil", gb, gb))
			r := o.statistic(s, i, "shampoo_R"+tag, s.Einsum("kji,kjl->kil", gb, gb))
			lRoot := roots.add(l, 4, i, "shampoo_L_root"+tag)
			rRoot := roots.add(r, 4, i, "shampoo_R_root"+tag)
			band = append(band, func() *Node {
				ub := s.Einsum("kij,kjl->kil", s.Einsum("kij,kjl->kil", lRoot.root, gb), rRoot.root)
				return Reshape(Transpose(Reshape(ub, rg.count, cg.count, rg.size, cg.size), 1, 2), rg.count*rg.size, cg.count*cg.size)
			})
		}
		bands = append(bands, band)
	}
	return func() *Node {
		rows := make([]*Node, len(bands))
		for b, band := range bands {
			parts := make([]*Node, len(band))
			for k, f := range band {
				parts[k] = f()
			}
			rows[b] = concatenate(parts, 1)
		}
		return concatenate(rows, 0)
	}
}

// concatenate is Concatenate that accepts a single operand.
func concatenate(xs []*Node, axis int) *Node {
	if len(xs) == 1 {
		return xs[0]
	}
	return Concatenate(xs, axis)
}
