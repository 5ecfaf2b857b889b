package optimizers

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
)

// Dense linear algebra that Shampoo and SOAP need and GoMLX lacks (it has no
// eigendecomposition or QR), written with GoMLX operations that the pure-Go
// backend has: Slice, Concatenate, DotGeneral and While loops.
//
// The loops take an optional boolean scalar active: when it is false they run
// no iteration (the caller then keeps its previous result with Where), which
// is how Shampoo and SOAP skip the work between refreshes. An If around the
// loops would be the natural way, but GoMLX v0.28 builds every closure as a
// child of the main function, so a While inside an If branch cannot use the
// branch's values.
//
// The loops and matrix products of one update run one after the other (see
// loopOrder), and the loops' bodies use no DotGeneral. The pure-Go backend
// (compute v0.1.2) runs a While node on one of its workers and the body on
// others, and a small matrix product waits for a free worker to split its
// work (workerspool.Saturate, which does not run inline when the pool is
// full): as many concurrent loops or products as workers wait for each other
// forever.

// loopOrder chains While loops and matrix products so that each starts after
// the previous one has finished. A nil *loopOrder leaves them unordered.
type loopOrder struct{ last *Node }

// einsum is Einsum ordered after the previous loop or product.
func (o *loopOrder) einsum(equation string, a, b *Node) *Node {
	out := Einsum(equation, o.after(a), b)
	o.done(out)
	return out
}

// after returns x, available only once the previous loop has finished: x
// plus a zero computed from the loop's output (the pure-Go backend's
// OptimizationBarrier orders each operand separately, so it cannot serve).
func (o *loopOrder) after(x *Node) *Node {
	if o == nil || o.last == nil {
		return x
	}
	first := make([]SliceAxisSpec, o.last.Rank())
	for i := range first {
		first[i] = AxisRange(0, 1)
	}
	e := ReduceAllSum(Slice(o.last, first...))
	zero := ConvertDType(LogicalAnd(IsNaN(e), IsFinite(e)), x.DType()) // always 0
	return Add(x, zero)
}

// done records an output of the loop just built.
func (o *loopOrder) done(x *Node) {
	if o != nil {
		o.last = x
	}
}

// eye returns the n×n identity matrix in dtype.
func eye(g *Graph, dtype dtypes.DType, n int) *Node {
	return ConvertDType(Diagonal(g, n), dtype)
}

// cacheScalars creates the scalar constants that closures (While bodies and
// conditions) will ask for, in the enclosing function first: GoMLX caches
// scalar constants per graph, not per function, so a constant first made
// inside one closure and then reused by another (or by the enclosing
// function) would cross function scopes.
func cacheScalars(g *Graph, dtype dtypes.DType, values ...float64) {
	for _, v := range values {
		_ = Scalar(g, dtype, v)
	}
}

// maxJacobiSweeps bounds symEig's sweeps (float64 needs about 6–10).
const maxJacobiSweeps = 30

// machineEps returns the unit roundoff of a float dtype.
func machineEps(dtype dtypes.DType) float64 {
	switch dtype {
	case dtypes.Float64:
		return 0x1p-52
	case dtypes.Float32:
		return 0x1p-23
	default:
		return 0x1p-10
	}
}

// symEig returns the eigenvalues ([k, n]) and the eigenvectors ([k, n, n],
// one per column, orthonormal) of a batch of k symmetric n×n matrices a, in
// no particular order, by the cyclic Jacobi method in round-robin (parallel)
// order: each round rotates n/2 disjoint pairs of rows and columns at once
// (the 2×2 symmetric Schur decomposition of Golub & Van Loan, Algorithm
// 8.4.1, zeroing each pair's off-diagonal entry), a sweep of n − 1 rounds
// meets every pair once, and sweeps repeat until every off-diagonal entry is
// below the unit roundoff relative to its diagonal entries, |a_ij| ≤
// u·√|a_ii·a_jj| (at most 30 sweeps). That criterion gives the small
// eigenvalues of a positive-definite matrix to high relative accuracy
// (Demmel & Veselić 1992), which Shampoo's inverse roots need. Each round
// costs O(k·n²); a sweep O(k·n³).
func symEig(a, active *Node, order *loopOrder) (vals, vecs *Node) {
	g, dt := a.Graph(), a.DType()
	k, n := a.Shape().Dimensions[0], a.Shape().Dimensions[1]
	if n == 1 {
		return Reshape(a, k, 1), Ones(g, shapes.Make(dt, k, 1, 1))
	}
	// An odd size gets a phantom row and column of zeros, which no rotation
	// touches (their off-diagonal entries are 0).
	N := n + n%2
	if N > n {
		a = Concatenate([]*Node{a, Zeros(g, shapes.Make(dt, k, n, 1))}, 2)
		a = Concatenate([]*Node{a, Zeros(g, shapes.Make(dt, k, 1, N))}, 1)
	}
	h := N / 2
	id := eye(g, dt, N)
	offDiag := ExpandAxes(OneMinus(id), 0)
	// keep zeroes the rotated pairs' off-diagonal entries (i, h+i), (h+i, i).
	ih, zh := eye(g, dt, h), Zeros(g, shapes.Make(dt, h, h))
	pairs := Concatenate([]*Node{Concatenate([]*Node{zh, ih}, 1), Concatenate([]*Node{ih, zh}, 1)}, 0)
	keep := ExpandAxes(OneMinus(pairs), 0)
	id3 := ExpandAxes(id, 0)
	ih3 := ExpandAxes(ih, 0)
	tol2 := Scalar(g, dt, machineEps(dt)*machineEps(dt))
	maxRounds := int32((N - 1) * maxJacobiSweeps)
	cacheScalars(g, dt, 0, 1, -1, 2)
	cacheScalars(g, dtypes.Int32, 0, 1, float64(N-1), float64(maxRounds))
	stateShapes := []shapes.Shape{shapes.Make(dt, k, N, N), shapes.Make(dt, k, N, N), shapes.Make(dtypes.Int32)}

	cond := NewClosure(g, func(g *Graph) []*Node {
		A := Parameter(g, "a", stateShapes[0])
		_ = Parameter(g, "v", stateShapes[1])
		r := Parameter(g, "round", stateShapes[2])
		d := ReduceSum(Mul(A, id3), -1)
		dd := Abs(Mul(ExpandAxes(d, -1), ExpandAxes(d, -2)))
		big := GreaterThan(Mul(Square(A), offDiag), Mul(tol2, dd))
		notConverged := ReduceAllMax(ConvertDType(big, dtypes.Int32))
		atSweepEnd := Equal(Rem(r, Scalar(g, dtypes.Int32, N-1)), Scalar(g, dtypes.Int32, 0))
		more := LogicalOr(LogicalNot(atSweepEnd), GreaterThan(notConverged, Scalar(g, dtypes.Int32, 0)))
		run := LogicalAnd(LessThan(r, Scalar(g, dtypes.Int32, maxRounds)), more)
		if active != nil {
			run = LogicalAnd(active, run)
		}
		return []*Node{run}
	})
	body := NewClosure(g, func(g *Graph) []*Node {
		A := Parameter(g, "a", stateShapes[0])
		V := Parameter(g, "v", stateShapes[1])
		r := Parameter(g, "round", stateShapes[2])
		d := ReduceSum(Mul(A, id3), -1)
		app, aqq := Slice(d, AxisRange(), AxisRange(0, h)), Slice(d, AxisRange(), AxisRange(h, N))
		apq := ReduceSum(Mul(Slice(A, AxisRange(), AxisRange(0, h), AxisRange(h, N)), ih3), -1)
		zero, one := ScalarZero(g, dt), ScalarOne(g, dt)
		nz := NotEqual(apq, zero)
		tau := Div(Sub(aqq, app), Mul(Scalar(g, dt, 2), Where(nz, apq, one)))
		sgn := Where(GreaterOrEqual(tau, zero), one, Neg(one))
		t := Div(sgn, Add(Abs(tau), Sqrt(OnePlus(Square(tau)))))
		c := Rsqrt(OnePlus(Square(t)))
		s := Mul(t, c)
		c, s = Where(nz, c, one), Where(nz, s, zero)
		A = Mul(rotateRows(rotateColumns(A, c, s), c, s), keep)
		V = rotateColumns(V, c, s)
		if N > 2 {
			A = roundRobin(roundRobin(A, 1), 2)
			V = roundRobin(V, 2)
		}
		return []*Node{A, V, Add(r, Scalar(g, dtypes.Int32, 1))}
	})
	out := While(cond, body, order.after(a), BroadcastToDims(id3, k, N, N), Scalar(g, dtypes.Int32, 0))
	A, V := out[0], out[1]
	order.done(V)
	vals = Slice(ReduceSum(Mul(A, id3), -1), AxisRange(), AxisRange(0, n))
	vecs = Slice(V, AxisRange(), AxisRange(0, n), AxisRange(0, n))
	return vals, vecs
}

// rotateColumns applies the rotations (c_i, s_i) to the column pairs (i, h+i)
// of x ([k, N, N]; c, s: [k, h]): x ← x·J.
func rotateColumns(x, c, s *Node) *Node {
	k, N := x.Shape().Dimensions[0], x.Shape().Dimensions[2]
	h := N / 2
	c, s = Reshape(c, k, 1, h), Reshape(s, k, 1, h)
	p, q := Slice(x, AxisRange(), AxisRange(), AxisRange(0, h)), Slice(x, AxisRange(), AxisRange(), AxisRange(h, N))
	return Concatenate([]*Node{Sub(Mul(c, p), Mul(s, q)), Add(Mul(s, p), Mul(c, q))}, 2)
}

// rotateRows applies the rotations to the row pairs: x ← Jᵀ·x.
func rotateRows(x, c, s *Node) *Node {
	k, N := x.Shape().Dimensions[0], x.Shape().Dimensions[1]
	h := N / 2
	c, s = Reshape(c, k, h, 1), Reshape(s, k, h, 1)
	p, q := Slice(x, AxisRange(), AxisRange(0, h), AxisRange()), Slice(x, AxisRange(), AxisRange(h, N), AxisRange())
	return Concatenate([]*Node{Sub(Mul(c, p), Mul(s, q)), Add(Mul(s, p), Mul(c, q))}, 1)
}

// roundRobin moves the positions along axis for the next round of pairs
// (i, h+i): position 0 stays, the others rotate along the cycle 1 → 2 → … →
// h−1 → N−1 → N−2 → … → h → 1 (the circle method of round-robin
// tournaments), so N − 1 rounds pair every two positions once and restore the
// order.
func roundRobin(x *Node, axis int) *Node {
	N := x.Shape().Dimensions[axis]
	h := N / 2
	var parts []*Node
	for _, r := range [][2]int{{0, 1}, {h, h + 1}, {1, h - 1}, {h + 1, N}, {h - 1, h}} {
		if r[1] > r[0] {
			parts = append(parts, SliceAxis(x, axis, AxisRange(r[0], r[1])))
		}
	}
	return Concatenate(parts, axis)
}

// inverseRoot returns a^(−1/p) for a batch ([k, n, n]) of symmetric
// positive-definite matrices, as Q·Λ^(−1/p)·Qᵀ from symEig (garbage when
// active is false: see the loops' active).
func inverseRoot(a *Node, p float64, active *Node, order *loopOrder) *Node {
	vals, vecs := symEig(a, active, order)
	return rootFromEig(vals, vecs, p, order)
}

// rootFromEig returns Q·Λ^(−1/p)·Qᵀ from eigenvalues ([k, n]) and
// eigenvectors ([k, n, n]); eigenvalues below the smallest positive float32
// are taken as that (the statistics are positive definite, so only rounding
// can bring them there).
func rootFromEig(vals, vecs *Node, p float64, order *loopOrder) *Node {
	g, dt := vals.Graph(), vals.DType()
	w := Pow(Max(vals, Scalar(g, dt, math.SmallestNonzeroFloat32)), Scalar(g, dt, -1/p))
	return order.einsum("kij,klj->kil", Mul(vecs, ExpandAxes(w, 1)), vecs)
}

// newtonIterations is the number of coupled Newton iterations of
// newtonInverseRoot: enough for condition numbers up to about 1e13 (the
// smallest eigenvalue grows by (1 + 1/p)^p ≥ 2.25 per iteration until it
// nears 1, then converges quadratically).
const newtonIterations = 40

// newtonInverseRoot returns a^(−1/p) for a batch ([k, n, n]) of symmetric
// positive-definite matrices by the coupled Newton iteration (Guo & Higham
// 2006; the method Anil et al. 2020 use for Shampoo):
//
//	z = (1 + p)/(2‖A‖_F),  X₀ = z^(1/p)·I,  M₀ = z·A;
//	T = ((p + 1)·I − M)/p,  X ← X·T,  M ← T^p·M
//
// X → A^(−1/p) as M → I. It runs a fixed number of iterations (no loop, so
// no control flow in the graph); a matrix whose error max|M − I| grows by
// more than 1.2× once below 1e-2 (rounding noise near convergence) keeps its
// previous iterate. Matrix products only: 4 per iteration for p = 4, 2 for
// p = 2, ordered by order.
func newtonInverseRoot(a *Node, p int, order *loopOrder) *Node {
	g, dt := a.Graph(), a.DType()
	k, n := a.Shape().Dimensions[0], a.Shape().Dimensions[1]
	id := BroadcastToDims(ExpandAxes(eye(g, dt, n), 0), k, n, n)
	fro := Sqrt(ReduceSum(Square(a), 1, 2))
	z := Reshape(Div(Scalar(g, dt, float64(1+p)), Mul(Scalar(g, dt, 2), fro)), k, 1, 1)
	x := Mul(id, Pow(z, Scalar(g, dt, 1/float64(p))))
	m := Mul(a, z)
	errOf := func(m *Node) *Node { return ReduceMax(Abs(Sub(m, id)), 1, 2) }
	e := errOf(m)
	for range newtonIterations {
		t := DivScalar(Sub(MulScalar(id, float64(p+1)), m), float64(p))
		xn := order.einsum("kij,kjl->kil", x, t)
		tp := t
		for q := 1; q < p; q *= 2 {
			tp = order.einsum("kij,kjl->kil", tp, tp)
		}
		if p != 1 && p != 2 && p != 4 {
			panic("newtonInverseRoot: p must be 1, 2 or 4")
		}
		mn := order.einsum("kij,kjl->kil", tp, m)
		en := errOf(mn)
		worse := LogicalAnd(GreaterThan(en, MulScalar(e, 1.2)), LessThan(e, Scalar(g, dt, 1e-2)))
		x, m, e = Where(worse, x, xn), Where(worse, m, mn), Where(worse, e, en) // worse: [k], a prefix of [k, n, n]
	}
	return x
}

// sortEigDescending orders the eigenvectors (columns of vecs, [k, n, n]) by
// decreasing eigenvalue (vals, [k, n]; ties keep their order).
func sortEigDescending(vals, vecs *Node, order *loopOrder) *Node {
	g, dt := vals.Graph(), vals.DType()
	n := vals.Shape().Dimensions[1]
	vi, vj := ExpandAxes(vals, -1), ExpandAxes(vals, -2) // [k, n, 1] λ_i, [k, 1, n] λ_j
	before := ConvertDType(LogicalNot(ShapedLowerTriangular(g, n, n, 0)), dtypes.Int32)
	// rank_i = #{j: λ_j > λ_i} + #{j < i: λ_j = λ_i}
	greater := ConvertDType(GreaterThan(vj, vi), dtypes.Int32)
	tie := Mul(ConvertDType(Equal(vj, vi), dtypes.Int32), ExpandAxes(Transpose(before, 0, 1), 0))
	rank := ReduceSum(Add(greater, tie), -1) // [k, n]
	perm := ConvertDType(Equal(ExpandAxes(rank, -1), Iota(g, shapes.Make(dtypes.Int32, 1, 1, n), 2)), dt)
	return order.einsum("kij,kjr->kir", vecs, perm)
}

// qrQ returns the Q factor (with diag(R) ≥ 0) of the QR decomposition of the
// square matrix x ([n, n]), by classical Gram–Schmidt with
// reorthogonalization ("twice is enough": each column is projected out of the
// previous ones twice, which keeps Q orthonormal to working precision), one
// column per iteration of a While loop. A column that vanishes after the
// projection (x rank-deficient) is replaced by the same column of fallback
// (an orthonormal [n, n], e.g. the previous Q), orthogonalized the same way.
func qrQ(x, fallback, active *Node, order *loopOrder) *Node {
	g, dt := x.Graph(), x.DType()
	n := x.Shape().Dimensions[0]
	eps := Scalar(g, dt, 16*float64(n)*machineEps(dt))
	sq := shapes.Make(dt, n, n)
	cacheScalars(g, dt, 0, 1)
	cacheScalars(g, dtypes.Int32, 0, 1, float64(n))
	cond := NewClosure(g, func(g *Graph) []*Node {
		_ = Parameter(g, "q", sq)
		j := Parameter(g, "j", shapes.Make(dtypes.Int32))
		run := LessThan(j, Scalar(g, dtypes.Int32, n))
		if active != nil {
			run = LogicalAnd(active, run)
		}
		return []*Node{run}
	})
	body := NewClosure(g, func(g *Graph) []*Node {
		Q := Parameter(g, "q", sq)
		j := Parameter(g, "j", shapes.Make(dtypes.Int32))
		ej := ConvertDType(Equal(Iota(g, shapes.Make(dtypes.Int32, n), 0), j), dt)
		// Products by element-wise multiplication and sums rather than
		// DotGeneral: the pure-Go backend's parallel matrix products can wait
		// forever for workers inside a loop body (see loopOrder).
		matVec := func(m, v *Node) *Node { return ReduceSum(Mul(m, ExpandAxes(v, 0)), 1) }  // m·v
		matTVec := func(m, v *Node) *Node { return ReduceSum(Mul(m, ExpandAxes(v, 1)), 0) } // mᵀ·v
		project := func(v *Node) *Node {
			for range 2 {
				v = Sub(v, matVec(Q, matTVec(Q, v)))
			}
			return v
		}
		norm := func(v *Node) *Node { return Sqrt(ReduceAllSum(Square(v))) }
		col := matVec(x, ej)
		v := project(col)
		v = Where(GreaterThan(norm(v), Mul(eps, norm(col))), v, project(matVec(fallback, ej)))
		r := norm(v)
		q := Where(GreaterThan(r, ScalarZero(g, dt)), Div(v, Where(GreaterThan(r, ScalarZero(g, dt)), r, ScalarOne(g, dt))), ZerosLike(v))
		Q = Add(Q, Mul(ExpandAxes(q, 1), ExpandAxes(ej, 0)))
		return []*Node{Q, Add(j, Scalar(g, dtypes.Int32, 1))}
	})
	q := While(cond, body, order.after(Zeros(g, sq)), Scalar(g, dtypes.Int32, 0))[0]
	order.done(q)
	return q
}
