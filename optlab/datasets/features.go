package datasets

// ZeroFeatures returns the indices of the features that are 0 in every
// example: on MNIST, the pixels near the border that no digit reaches. A
// network's weights fed by such a feature get a gradient of exactly 0 on
// every example (their input is 0), so they never move, and an adaptive
// optimizer's second-moment estimate for them stays 0.
func (d *Dataset) ZeroFeatures() []int {
	n := d.Len()
	var out []int
	for j := 0; j < d.Width; j++ {
		zero := true
		for i := 0; i < n && zero; i++ {
			zero = d.Features[i*d.Width+j] == 0
		}
		if zero {
			out = append(out, j)
		}
	}
	return out
}
