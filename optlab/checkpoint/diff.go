package checkpoint

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Differences compares two configurations (any values encoding/json
// marshals, normally of the same type: the one a checkpoint was saved with
// and the one a run would resume with) key by key and returns one
// "key: A there, B here" line per difference, keys in sorted order; nested
// objects and arrays are compared by their dotted keys ("epochs.0.loss"). Keys listed in ignore (dotted,
// e.g. "epochs") are skipped. A value that does not marshal to a JSON object
// is reported as a difference of the whole.
func Differences(saved, current any, ignore ...string) []string {
	a, errA := flatten(saved)
	b, errB := flatten(current)
	if errA != nil || errB != nil {
		return []string{fmt.Sprintf("configurations cannot be compared (%v, %v)", errA, errB)}
	}
	skip := map[string]bool{}
	for _, k := range ignore {
		skip[k] = true
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []string
	for _, k := range sorted {
		if skip[k] || skipped(k, skip) {
			continue
		}
		va, okA := a[k]
		vb, okB := b[k]
		if okA && okB && va == vb {
			continue
		}
		show := func(v string, ok bool) string {
			if !ok {
				return "(none)"
			}
			return v
		}
		out = append(out, fmt.Sprintf("%s: %s there, %s here", k, show(va, okA), show(vb, okB)))
	}
	return out
}

// skipped reports whether key lies under an ignored prefix ("data" ignores
// "data.train").
func skipped(key string, skip map[string]bool) bool {
	for p := range skip {
		if strings.HasPrefix(key, p+".") {
			return true
		}
	}
	return false
}

// flatten marshals v and returns its leaves by dotted key, each as its JSON text.
func flatten(v any) (map[string]string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		return nil, err
	}
	if _, ok := tree.(map[string]any); !ok {
		return nil, fmt.Errorf("%T is not a JSON object", v)
	}
	out := map[string]string{}
	var walk func(prefix string, t any)
	walk = func(prefix string, t any) {
		join := func(k string) string {
			if prefix == "" {
				return k
			}
			return prefix + "." + k
		}
		if m, ok := t.(map[string]any); ok && (prefix == "" || len(m) > 0) {
			for k, sub := range m {
				walk(join(k), sub)
			}
			return
		}
		if a, ok := t.([]any); ok && len(a) > 0 {
			for i, sub := range a {
				walk(join(fmt.Sprint(i)), sub)
			}
			return
		}
		leaf, _ := json.Marshal(t) // re-marshalling decoded JSON cannot fail
		out[prefix] = string(leaf)
	}
	walk("", tree)
	return out, nil
}
