#!/usr/bin/env bash
# Run during the image build: executes a small notebook that imports optlab
# and trains a few steps, once from notebooks/ and once from work/, through
# Jupyter and GoNB exactly as a user's notebook runs. This fills the Go build
# cache for both places a notebook lives (Go caches the project's packages per
# source folder, and the notebooks reach the project as ${GONB_DIR}/..), and it
# fails the build if a notebook cannot train.
set -euo pipefail
[[ ${OPTLAB_IN_IMAGE_BUILD:-0} == 1 ]] || {
	echo "warmup.sh is meant for the image build (it writes notebooks/ and work/); use scripts/notebooks.sh check instead" >&2
	exit 2
}
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck disable=SC2016 # Python source, with Go's ${GONB_DIR} for GoNB
nb_py='
import sys, nbformat as nbf
setup = "!*\"${GONB_DIR}/../scripts/nbsetup.sh\""
train = """import (
	"context"
	"fmt"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
	_ "optlab.dev/optlab/plots"
)

%%
backend, err := optlab.NewBackend("")
if err != nil {
	panic(err)
}
data, err := optlab.LoadData("", datasets.SplitTest, 64)
if err != nil {
	panic(err)
}
h, err := optlab.Train(context.Background(), backend, data, optlab.Config{
	Model: "mlp-small", Optimizer: optimizers.MustParse("sgd(lr=0.1)"), Epochs: 1, BatchSize: 32, Seed: 1,
})
if err != nil {
	panic(err)
}
fmt.Printf("warm-up: %s, %d steps, loss %.3f\\n", h.Model, h.Epochs[0].Steps, h.Epochs[0].Loss)"""
n = nbf.v4.new_notebook()
n.metadata = {"kernelspec": {"display_name": "Go (gonb)", "language": "go", "name": "gonb"}}
n.cells = [nbf.v4.new_code_cell(setup), nbf.v4.new_code_cell(train)]
nbf.write(n, sys.argv[1])
'

status=0
for dir in notebooks work; do
	mkdir -p "$dir"
	nb=$dir/.optlab-warmup.ipynb
	/usr/bin/python3 -c "$nb_py" "$nb"
	scripts/notebooks.sh check "$nb" || status=1
	rm -f "$nb"
done
exit $status
