package diagnostics

import (
	stdctx "context"
	"errors"
	"fmt"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
)

// SharpnessConfig configures MeasureSharpness and SharpnessProbe.
type SharpnessConfig struct {
	// Hessian chooses the examples and the product method.
	Hessian HessianConfig
	// Eigen bounds the eigenvalue iteration (see TopEigenvalue).
	Eigen EigenConfig
	// TraceSamples > 0 also estimates the Hessian's trace with that many
	// Hutchinson samples (one product each).
	TraceSamples int
}

// Sharpness is the curvature of a network's loss at its current weights.
type Sharpness struct {
	// TopEigenvalue is λ_max of the Hessian of the loss (see Hessian for
	// which loss): full-batch gradient descent with step η is stable on a
	// quadratic of this curvature only while λ_max < 2/η.
	TopEigenvalue float64 `json:"top_eigenvalue"`
	// Converged reports whether the eigenvalue iteration met its tolerance.
	Converged bool `json:"converged"`
	// Trace and TraceStdErr are Hutchinson's estimate of tr(H) and its
	// standard error (0 when not asked for).
	Trace       float64 `json:"trace,omitempty"`
	TraceStdErr float64 `json:"trace_stderr,omitempty"`
	// Products is the number of Hessian-vector products used.
	Products int `json:"products"`
	// Method is how products were computed; Fallback says why HVPAuto used
	// finite differences, when it did.
	Method   HVPMethod `json:"method"`
	Fallback string    `json:"fallback,omitempty"`
	// Examples is the number of examples of the loss.
	Examples int `json:"examples"`
}

// MeasureSharpness computes the top Hessian eigenvalue (and, with
// TraceSamples, the trace) of n's loss on the first examples of ds at its
// current weights.
func MeasureSharpness(ctx stdctx.Context, n *optlab.Network, ds *datasets.Dataset, cfg SharpnessConfig) (*Sharpness, error) {
	h, err := NewHessian(n, ds, cfg.Hessian)
	if err != nil {
		return nil, err
	}
	s, _, err := sharpnessOf(ctx, h, cfg)
	return s, err
}

// sharpnessOf measures with a prepared Hessian and returns the eigenvector too.
func sharpnessOf(ctx stdctx.Context, h *Hessian, cfg SharpnessConfig) (*Sharpness, []float64, error) {
	if cfg.TraceSamples < 0 {
		return nil, nil, fmt.Errorf("sharpness: trace samples must be ≥ 0, got %d", cfg.TraceSamples)
	}
	before := h.Products()
	e, err := TopEigenvalue(ctx, h, cfg.Eigen)
	if err != nil {
		return nil, nil, fmt.Errorf("sharpness: %w", err)
	}
	s := &Sharpness{TopEigenvalue: e.Value, Converged: e.Converged, Examples: h.Examples()}
	if cfg.TraceSamples > 0 {
		if s.Trace, s.TraceStdErr, err = Trace(ctx, h, cfg.TraceSamples, cfg.Eigen.Seed); err != nil {
			return nil, nil, fmt.Errorf("sharpness: %w", err)
		}
	}
	s.Products = h.Products() - before
	s.Method, s.Fallback = h.Method()
	return s, e.Vector, nil
}

// SharpnessProbe tracks the sharpness while a network trains: as an
// optlab.Probe in Config.Probes it records the series "sharpness" (λ_max)
// and, with TraceSamples, "hessian_trace" in History.Probes, every Interval
// updates and before the first. Each measurement starts the Lanczos iteration
// from the previous eigenvector, which, as the weights move little between
// measurements, usually converges in a few products. A probe serves one
// network at a time.
type SharpnessProbe struct {
	// Interval is the number of updates between measurements (≥ 1).
	Interval int
	// Data holds the examples of the loss (the first Config.Hessian.Examples),
	// usually the training split.
	Data   *datasets.Dataset
	Config SharpnessConfig

	net     *optlab.Network
	hessian *Hessian
	prev    []float64
}

var _ optlab.Probe = (*SharpnessProbe)(nil)

// Every implements optlab.Probe.
func (p *SharpnessProbe) Every() int { return p.Interval }

// Measure implements optlab.Probe.
func (p *SharpnessProbe) Measure(ctx stdctx.Context, n *optlab.Network, _ int) ([]optlab.Measurement, error) {
	if p.Data == nil {
		return nil, errors.New("sharpness probe: no data")
	}
	if p.net != n || p.hessian == nil {
		h, err := NewHessian(n, p.Data, p.Config.Hessian)
		if err != nil {
			return nil, err
		}
		p.net, p.hessian, p.prev = n, h, nil
	}
	cfg := p.Config
	cfg.Eigen.Start = p.prev
	s, v, err := sharpnessOf(ctx, p.hessian, cfg)
	if err != nil {
		return nil, err
	}
	p.prev = v
	ms := []optlab.Measurement{{Name: "sharpness", Value: s.TopEigenvalue}}
	if cfg.TraceSamples > 0 {
		ms = append(ms, optlab.Measurement{Name: "hessian_trace", Value: s.Trace})
	}
	return ms, nil
}

// Method returns the product method the probe's Hessian uses (after its first
// measurement) and why HVPAuto fell back, if it did.
func (p *SharpnessProbe) Method() (HVPMethod, string) {
	if p.hessian == nil {
		return p.Config.Hessian.Method, ""
	}
	return p.hessian.Method()
}
