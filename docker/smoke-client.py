"""Runs Go cells on a Jupyter server the way the notebook page does.

Used by docker/smoke-test.sh: it opens a notebook session (so the GoNB kernel
starts in the notebook's folder), sends each cell over the kernel's WebSocket
channel, prints the outputs and the time each cell took, and exits non-zero
when a cell fails or its output lacks an expected line.

Usage: python3 smoke-client.py URL TOKEN NOTEBOOK_PATH EXPECT CELL_FILE...
  EXPECT     text that the last cell's stdout must contain
  CELL_FILE  a file holding one cell's source

Only the Python standard library and tornado (a dependency of Debian's
jupyter-notebook) are needed.
"""

import json
import re
import sys
import time
import urllib.request
import uuid
from datetime import timedelta

from tornado import gen, httpclient, ioloop, websocket

# GoNB v0.11.1 reports a cell program that panics or exits non-zero only as
# this stderr line; the reply still says "ok".
EXITED = re.compile(r"^(\^C)?(exit status [1-9][0-9]*|signal: [a-z ]+)$", re.M)


def api(base, token, method, path, body=None):
    req = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "token " + token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


def message(session, msg_type, content):
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "username": "smoke",
            "session": session,
            "msg_type": msg_type,
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": content,
        "channel": "shell",
    }


async def run_cells(ws_url, token, cells, cell_timeout):
    conn = await websocket.websocket_connect(
        httpclient.HTTPRequest(ws_url, headers={"Authorization": "token " + token})
    )
    session = uuid.uuid4().hex
    results = []
    for i, code in enumerate(cells, 1):
        msg = message(session, "execute_request", {
            "code": code, "silent": False, "store_history": True,
            "user_expressions": {}, "allow_stdin": False, "stop_on_error": True,
        })
        conn.write_message(json.dumps(msg))
        msg_id = msg["header"]["msg_id"]
        start = time.monotonic()
        out = {"stdout": "", "stderr": "", "error": None, "status": None, "idle": False}
        while out["status"] is None or not out["idle"]:
            left = cell_timeout - (time.monotonic() - start)
            if left <= 0:
                raise TimeoutError(f"cell {i} ran past {cell_timeout} s")
            try:
                raw = await gen.with_timeout(timedelta(seconds=left), conn.read_message())
            except gen.TimeoutError:
                raise TimeoutError(f"cell {i} ran past {cell_timeout} s") from None
            if raw is None:
                raise ConnectionError("kernel WebSocket closed")
            m = json.loads(raw)
            if m.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = m["msg_type"], m["content"]
            if kind == "stream":
                out[content["name"]] += content["text"]
            elif kind == "error":
                out["error"] = f'{content.get("ename")}: {content.get("evalue")}'
            elif kind == "execute_reply":
                out["status"] = content["status"]
            elif kind == "status" and content.get("execution_state") == "idle":
                out["idle"] = True
        out["seconds"] = time.monotonic() - start
        results.append(out)
        print(f"[smoke-client] cell {i}: status={out['status']} in {out['seconds']:.1f} s", flush=True)
        for name in ("stdout", "stderr"):
            text = out[name].strip()
            if text:
                tail = "\n".join(text.splitlines()[-15:])
                print(f"[smoke-client]   {name}:\n" + "\n".join("      " + l for l in tail.splitlines()), flush=True)
        if out["status"] != "ok" or out["error"] or EXITED.search(out["stderr"]):
            raise RuntimeError(f"cell {i} failed: {out['error'] or out['stderr'].strip().splitlines()[-1:]}")
    conn.close()
    return results


def main():
    if len(sys.argv) < 6:
        print(__doc__, file=sys.stderr)
        return 2
    base, token, nb_path, expect = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3], sys.argv[4]
    cells = [open(f).read() for f in sys.argv[5:]]
    t0 = time.monotonic()
    sess = api(base, token, "POST", "/api/sessions", {
        "path": nb_path, "type": "notebook", "name": nb_path.rsplit("/", 1)[-1],
        "kernel": {"name": "gonb"},
    })
    kernel_id = sess["kernel"]["id"]
    print(f"[smoke-client] session for {nb_path}: kernel {kernel_id} ({time.monotonic() - t0:.1f} s)", flush=True)
    ws_url = base.replace("http", "ws", 1) + f"/api/kernels/{kernel_id}/channels"
    try:
        results = ioloop.IOLoop.current().run_sync(lambda: run_cells(ws_url, token, cells, 600))
    finally:
        try:
            api(base, token, "DELETE", f"/api/sessions/{sess['id']}")
        except Exception as e:  # the check's result matters more than cleanup here
            print(f"[smoke-client] could not close the session: {e}", file=sys.stderr)
    if expect not in results[-1]["stdout"]:
        print(f"[smoke-client] last cell's output lacks {expect!r}", file=sys.stderr)
        return 1
    print(f"[smoke-client] all {len(cells)} cells ok in {time.monotonic() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
