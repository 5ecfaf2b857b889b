#!/usr/bin/env bash
# Offline check of the Kubernetes example (docs/sweeps/k8s-indexed-job.yaml),
# run by CI and usable by hand. No cluster is needed, and none is used:
#  1. every document of the manifest, and the merge Job commented out at its
#     end, is decoded strictly against the API types of k8s.io/api (a small Go
#     program built from the Go module proxy into a temporary module): unknown
#     or duplicate fields and wrong types fail, as with kubectl's strict field
#     validation. `kubectl apply --dry-run=client` cannot do this offline: it
#     asks the API server for its resource list first;
#  2. the Job rules an Indexed Job must meet (backoffLimitPerIndex needs
#     Indexed, Indexed needs completions, restartPolicy Never or OnFailure,
#     requests within limits, names) and what the example needs: --shard K/N
#     with N = completions, mounts that name volumes, volumes that name the
#     manifest's ConfigMap and PersistentVolumeClaim, the image's working
#     directory (docker/Dockerfile's WORKDIR);
#  3. the checker is shown broken manifests (a misspelt field, a string count,
#     a shard count that differs from completions, a mount of no volume) and
#     must reject each;
#  4. the pods' own shell commands run here, as the pods would run them, on
#     this optlab: the real grid of the ConfigMap with --dry-run (every shard
#     parses, the shards add up to the grid), then every index of the Indexed
#     Job on a small grid for real and the merge Job's merge and report.
# Not tested: a real API server's admission and defaulting, scheduling, the
# image itself (docker/smoke-test.sh builds and tests it), a ReadWriteMany
# volume shared by pods, pod retries (backoffLimitPerIndex).
#
# Environment:
#   OPTLAB_BIN         optlab binary (default: go build ./cmd/optlab)
#   K8S_API_VERSION    k8s.io/api and k8s.io/apimachinery version (default v0.37.2)
#   K8S_CHECK_KEEP=1   leave the temporary folder behind
set -euo pipefail
exec </dev/null
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
manifest=$root/docs/sweeps/k8s-indexed-job.yaml
api=${K8S_API_VERSION:-v0.37.2}
T0=$SECONDS
log() { printf '[k8s-check %3ds] %s\n' $((SECONDS - T0)) "$*"; }
die() {
	log "FAIL: $*"
	exit 1
}
[[ -x /usr/local/go/bin/go ]] && ! command -v go >/dev/null && export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || die "Go is not installed"
tmp=$(mktemp -d /tmp/optlab-k8s.XXXXXX)
cleanup() {
	local rc=$?
	if [[ ${K8S_CHECK_KEEP:-} == 1 ]]; then log "kept $tmp"; else rm -rf "$tmp"; fi
	if ((rc == 0)); then log "k8s-check: PASS ($((SECONDS - T0))s)"; else log "k8s-check: FAIL ($((SECONDS - T0))s)"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- checker
log "building the manifest checker against k8s.io/api $api"
mkdir -p "$tmp/checker"
cat >"$tmp/checker/main.go" <<'EOF'
// k8s-manifest-check decodes every document of Kubernetes manifests strictly
// against the API types of k8s.io/api (unknown or duplicate fields and wrong
// types are errors, as with kubectl's strict field validation), checks the
// rules of the Job API that optlab's Indexed Job relies on, and writes each
// container's command and each ConfigMap key to OUTDIR so the caller can run
// them. Usage: k8s-manifest-check OUTDIR MANIFEST...
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/yaml"
)

var problems []string

func bad(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: k8s-manifest-check OUTDIR MANIFEST...")
		os.Exit(2)
	}
	out := os.Args[1]
	scheme := runtime.NewScheme()
	if err := errors.Join(corev1.AddToScheme(scheme), batchv1.AddToScheme(scheme)); err != nil {
		panic(err)
	}
	dec := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	configMaps, claims := map[string]bool{}, map[string]bool{}
	var jobs []*batchv1.Job
	for _, path := range os.Args[2:] {
		raw, err := os.ReadFile(path)
		if err != nil {
			bad("%v", err)
			continue
		}
		r := yaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
		for i := 1; ; i++ {
			doc, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				bad("%s: document %d: %v", path, i, err)
				break
			}
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			obj, gvk, err := dec.Decode(doc, nil, nil)
			if err != nil {
				bad("%s: document %d: %v", path, i, err)
				continue
			}
			var name string
			switch o := obj.(type) {
			case *corev1.ConfigMap:
				name = o.Name
				configMaps[name] = true
				for k, v := range o.Data {
					dir := filepath.Join(out, "configmap", name)
					must(os.MkdirAll(dir, 0o755))
					must(os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644))
				}
			case *corev1.PersistentVolumeClaim:
				name = o.Name
				claims[name] = true
			case *batchv1.Job:
				name = o.Name
				jobs = append(jobs, o)
			default:
				bad("%s: document %d: unexpected kind %s", path, i, gvk.Kind)
			}
			for _, msg := range validation.IsDNS1123Subdomain(name) {
				bad("%s %q: metadata.name: %s", gvk.Kind, name, msg)
			}
			fmt.Printf("ok: %s: %s %s/%s %q decodes strictly\n", filepath.Base(path), gvk.Kind, gvk.Group, gvk.Version, name)
		}
	}
	for _, j := range jobs {
		checkJob(j, configMaps, claims, out)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Println("FAIL:", p)
		}
		os.Exit(1)
	}
}

var shardRE = regexp.MustCompile(`--shard "?\$\{?JOB_COMPLETION_INDEX\}?/([0-9]+)"?`)

// checkJob checks the Job API rules an Indexed Job must meet and what optlab's
// sweep needs: one shard per index, mounts that name the pod's volumes, and
// volumes that name objects of the manifests.
func checkJob(j *batchv1.Job, configMaps, claims map[string]bool, out string) {
	s, pod := j.Spec, j.Spec.Template.Spec
	if rp := pod.RestartPolicy; rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
		bad("job %s: restartPolicy must be Never or OnFailure, is %q", j.Name, rp)
	}
	indexed := s.CompletionMode != nil && *s.CompletionMode == batchv1.IndexedCompletion
	if s.BackoffLimitPerIndex != nil && !indexed {
		bad("job %s: backoffLimitPerIndex needs completionMode: Indexed", j.Name)
	}
	if indexed && s.Completions == nil {
		bad("job %s: completionMode Indexed needs completions", j.Name)
	}
	for _, p := range []*int32{s.Completions, s.Parallelism, s.BackoffLimitPerIndex, s.BackoffLimit} {
		if p != nil && *p < 0 {
			bad("job %s: negative count %d", j.Name, *p)
		}
	}
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
		if v.ConfigMap != nil && !configMaps[v.ConfigMap.Name] {
			bad("job %s: volume %s names ConfigMap %q, which the manifests do not define", j.Name, v.Name, v.ConfigMap.Name)
		}
		if v.PersistentVolumeClaim != nil && !claims[v.PersistentVolumeClaim.ClaimName] {
			bad("job %s: volume %s names PersistentVolumeClaim %q, which the manifests do not define", j.Name, v.Name, v.PersistentVolumeClaim.ClaimName)
		}
	}
	if len(pod.Containers) == 0 {
		bad("job %s: no containers", j.Name)
	}
	for _, c := range pod.Containers {
		if c.Image == "" {
			bad("job %s: container %s has no image", j.Name, c.Name)
		}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				bad("job %s: container %s mounts %q, which is not a volume of the pod", j.Name, c.Name, m.Name)
			}
		}
		for res, lim := range c.Resources.Limits {
			if req, ok := c.Resources.Requests[res]; ok && req.Cmp(lim) > 0 {
				bad("job %s: container %s requests more %s (%s) than its limit (%s)", j.Name, c.Name, res, req.String(), lim.String())
			}
		}
		script := strings.Join(append(append([]string{}, c.Command...), c.Args...), "\n")
		if indexed {
			m := shardRE.FindStringSubmatch(script)
			if m == nil {
				bad("job %s: container %s does not pass --shard ${JOB_COMPLETION_INDEX}/N", j.Name, c.Name)
			} else if n, _ := strconv.Atoi(m[1]); s.Completions != nil && int32(n) != *s.Completions {
				bad("job %s: --shard .../%d but completions: %d (one shard per index)", j.Name, n, *s.Completions)
			}
		}
		if len(c.Command) == 2 && c.Command[1] == "-c" && len(c.Args) == 1 {
			f := filepath.Join(out, "job-"+j.Name+"-"+c.Name+".sh")
			must(os.WriteFile(f, []byte("cd "+strconv.Quote(c.WorkingDir)+"\n"+c.Args[0]), 0o644))
		}
	}
	n := int32(1)
	if s.Completions != nil {
		n = *s.Completions
	}
	must(os.WriteFile(filepath.Join(out, "job-"+j.Name+".completions"), []byte(strconv.Itoa(int(n))), 0o644))
	fmt.Printf("ok: job %s: %d completions, mode %s, restartPolicy %s, %d volume(s) resolved\n",
		j.Name, n, map[bool]string{true: "Indexed", false: "NonIndexed"}[indexed], pod.RestartPolicy, len(pod.Volumes))
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, l := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			b.Write(l)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
EOF
(
	cd "$tmp/checker"
	export GOFLAGS="${GOFLAGS:-} -mod=mod"
	go mod init k8s-manifest-check >/dev/null 2>&1
	go get "k8s.io/api@$api" "k8s.io/apimachinery@$api" >/dev/null 2>&1 || go get "k8s.io/api@$api" "k8s.io/apimachinery@$api"
	go mod tidy >/dev/null 2>&1 || go mod tidy
	go build -o "$tmp/check" .
)
check=$tmp/check

# ---------------------------------------------------------------- 1-2: the manifests
log "checking $manifest and its merge Job"
merge=$tmp/merge-job.yaml
sed -n '/^# --- merge/,$p' "$manifest" | tail -n +2 | sed -E 's/^# ?//' >"$merge"
grep -q '^kind: Job' "$merge" || die "no merge Job found after '# --- merge' in the manifest"
mkdir -p "$tmp/out"
"$check" "$tmp/out" "$manifest" "$merge" || die "the manifest does not pass"
workdir=$(awk '$1 == "WORKDIR" {w = $2} END {print w}' "$root/docker/Dockerfile")
for f in "$tmp"/out/job-*.sh; do
	[[ $(head -n1 "$f") == "cd \"$workdir\"" ]] || die "$(basename "$f"): workingDir is not the image's WORKDIR $workdir"
done
log "ok: the pods' workingDir is the image's WORKDIR ($workdir)"

# ---------------------------------------------------------------- 3: broken manifests
mutant() { # mutant NAME SED EXPECTED: the checker must reject the edited manifest, saying EXPECTED
	local name=$1 expr=$2 want=$3 got
	sed "$expr" "$manifest" >"$tmp/$name.yaml"
	cmp -s "$manifest" "$tmp/$name.yaml" && die "mutant $name: the edit '$expr' changed nothing"
	if got=$("$check" "$tmp/mut" "$tmp/$name.yaml"); then die "mutant $name was accepted"; fi
	grep -q -- "$want" <<<"$got" || die "mutant $name was rejected for another reason: $got"
	log "ok: rejects $name ($(grep -m1 -- "$want" <<<"$got" | sed 's/^FAIL: //'))"
}
mutant misspelt-field 's/backoffLimitPerIndex:/backoffLimitPerIndx:/' 'unknown field "spec.backoffLimitPerIndx"'
mutant string-count 's/completions: 8 /completions: "8" /' 'cannot unmarshal string'
mutant shard-count 's/completions: 8 /completions: 4 /' 'but completions: 4'
mutant no-volume 's/{name: results, mountPath/{name: result, mountPath/' 'not a volume of the pod'

# ---------------------------------------------------------------- 4: the pods' commands
if [[ -n ${OPTLAB_BIN:-} ]]; then
	optlab=$(realpath "$OPTLAB_BIN")
else
	(cd "$root" && go build -o "$tmp/optlab" ./cmd/optlab)
	optlab=$tmp/optlab
fi
grid=$tmp/out/configmap/optlab-grid/grid.json
[[ -s $grid ]] || die "the ConfigMap optlab-grid has no grid.json"
n=$(cat "$tmp/out/job-optlab-sweep.completions")
total=$("$optlab" sweep --config "$grid" --store "$tmp/none.db" --dry-run | tail -n1 | awk '{print $1}')
sum=0
for ((i = 0; i < n; i++)); do
	k=$("$optlab" sweep --config "$grid" --shard "$i/$n" --store "$tmp/none.db" --dry-run | tail -n1 | awk '{print $1}')
	sum=$((sum + k))
done
((total > 0 && sum == total)) || die "the $n shards hold $sum trials, the grid $total"
log "ok: the ConfigMap's grid parses: $total trials in $n shards"

# The pods' scripts with the container's paths mapped into $tmp, run on a
# small grid; `go build` is a stand-in that checks its arguments and links
# the optlab under test (built once). Any other go command (the sweep's code
# fingerprint runs `go list`, as it does in the image, which has Go and the
# source) goes to the real go.
real_go=$(command -v go)
mkdir -p "$tmp/shim" "$tmp/pod/config" "$tmp/pod/results" "$tmp/pod/bin"
cat >"$tmp/shim/go" <<EOF
#!/bin/sh
[ "\$1" = build ] || exec "$real_go" "\$@"
[ "\$1 \$2 \$4 \$#" = "build -o ./cmd/optlab 4" ] || { echo "go shim: unexpected 'go \$*'" >&2; exit 1; }
ln -sf "$optlab" "\$3"
EOF
chmod +x "$tmp/shim/go"
cat >"$tmp/pod/config/grid.json" <<'EOF'
{"models": ["mlp-small"], "optimizers": ["sgd(momentum=0.9)", "adam"], "lrs": [0.1, 0.01, 0.001, 0.0001],
 "seeds": [1], "batch_sizes": [32], "epochs": 1, "split": "holdout5k", "limit": 600, "non_finite": "stop"}
EOF
pod_script() { # pod_script JOB CONTAINER: the container's script, paths mapped
	sed -e "1s|.*|cd \"$root\"|" -e "s|/tmp/optlab|$tmp/pod/bin/optlab|g" \
		-e "s|/config/|$tmp/pod/config/|g" -e "s|/results/|$tmp/pod/results/|g" "$tmp/out/job-$1-$2.sh"
}
for ((i = 0; i < n; i++)); do
	JOB_COMPLETION_INDEX=$i PATH="$tmp/shim:$PATH" GOMLX_BACKEND=go bash -c "$(pod_script optlab-sweep sweep)" >"$tmp/pod/sweep-$i.log" 2>&1 ||
		{ cat "$tmp/pod/sweep-$i.log"; die "index $i of the Indexed Job failed"; }
done
log "ok: ran the $n indices of the Indexed Job's pod command (small grid)"
PATH="$tmp/shim:$PATH" bash -c "$(pod_script optlab-merge merge)" >"$tmp/pod/merge.log" 2>&1 ||
	{ cat "$tmp/pod/merge.log"; die "the merge Job's command failed"; }
grep -h '^merged ' "$tmp/pod/merge.log" | sed 's/^/    /'
done_line=$("$optlab" sweep --config "$tmp/pod/config/grid.json" --store "$tmp/pod/results/all.db" --dry-run | tail -n1)
[[ $done_line == "8 trials, 8 in $tmp/pod/results/all.db, 0 to run" ]] || die "merged store: $done_line"
[[ -s $tmp/pod/results/report/report.md ]] || die "the merge Job wrote no report"
log "ok: the merge Job's command merged the $n shard stores (all 8 trials) and wrote the report"
