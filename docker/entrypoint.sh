#!/usr/bin/env bash
# Starts Jupyter for the optlab image: token authentication always on, the
# project folder as the notebook root, the work/ volume seeded on first start.
# Extra arguments are passed to `jupyter notebook`.
set -euo pipefail

project=/home/optlab/optlab
log() { printf '[optlab] %s\n' "$*"; }

if [[ $(id -u) == 0 ]]; then
	log "refusing to run Jupyter as root; start the container without --user 0"
	exit 1
fi

token=${JUPYTER_TOKEN:-${OPTLAB_JUPYTER_TOKEN:-}}
# shellcheck disable=SC2016 # literal "${" and "$(": a compose file or shell that did not expand
case $token in
*'${'* | *'$('*)
	log "JUPYTER_TOKEN holds an unexpanded template ($token); set a real token or leave it unset"
	exit 1
	;;
esac
generated=0
if [[ -z $token ]]; then
	token=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
	generated=1
fi

# The volume mounted on work/ keeps the user's notebooks and results. On the
# first start (no notebook there yet) it gets copies of the shipped notebooks;
# their `${GONB_DIR}/..` is the project folder as for the originals.
work=$project/work
if [[ ${OPTLAB_SEED_WORK:-1} == 1 && -d $work && -w $work ]] &&
	! compgen -G "$work/*.ipynb" >/dev/null && [[ ! -e $work/.seeded ]]; then
	cp -n "$project"/notebooks/*.ipynb "$work"/ 2>/dev/null || true
	touch "$work/.seeded"
	log "copied the notebooks into work/ (your edits there survive restarts)"
fi

port=${OPTLAB_PORT:-8888}
log "GOMLX_BACKEND=${GOMLX_BACKEND:-go}  Go $(go env GOVERSION)  GoNB $(gonb -V 2>/dev/null | head -n1 || true)"
if ((generated)); then
	log "generated token (set JUPYTER_TOKEN to choose your own): $token"
	log "open http://127.0.0.1:$port/?token=$token"
else
	log "token taken from JUPYTER_TOKEN; open http://127.0.0.1:$port/ and enter it"
fi

cd "$project"
exec jupyter notebook --no-browser --ip=0.0.0.0 --port="$port" \
	--notebook-dir="$project" \
	--NotebookApp.token="$token" \
	--NotebookApp.password='' \
	--NotebookApp.quit_button=False \
	"$@"
