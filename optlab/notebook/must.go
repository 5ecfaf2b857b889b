package notebook

// Must returns v, or panics with err: in a GoNB cell a panic stops the cell
// and shows the error under it, which is what a notebook wants when a step
// fails (cells are small programs with no caller to return an error to).
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Check panics with err if it is not nil (see Must): for calls that return
// only an error, such as a figure's Display.
func Check(err error) {
	if err != nil {
		panic(err)
	}
}

// Choose returns yes when cond holds and no otherwise: for prose whose
// wording follows a measured result ("reaches the well at step 120" or "does
// not reach it").
func Choose(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}
