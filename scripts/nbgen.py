#!/usr/bin/env python3
"""Build a notebook from its plain-text source: DIR/src/NAME.txt -> DIR/NAME.ipynb
(notebooks/src/NN_name.txt -> notebooks/NN_name.ipynb).

The source format keeps notebooks reviewable as plain text. A source file is a
sequence of cells, each starting with a marker line:

    #### md             a Markdown cell (the following lines, verbatim)
    #### md exercises   a Markdown cell tagged "exercises" (the exercises that end a notebook)
    #### go             a GoNB code cell
    #### setup          the standard setup cell (write nothing after it): it runs
                        scripts/nbsetup.sh, which takes every module version from
                        the repository's go.mod and prints nothing unless it fails

Lines before the first marker are ignored (use them for notes to authors).

Regenerating a notebook keeps what belongs to the notebook rather than to its
source: cell ids (a cell whose text is unchanged, or that was edited in place,
keeps its id; a new cell gets an id never used before in that notebook) and the
run times that `scripts/notebooks.sh execute` recorded (metadata and the line
under the title). Outputs are dropped: run `scripts/notebooks.sh execute`
afterwards to execute the notebook and store them.

Usage: scripts/nbgen.py [DIR/src/NAME.txt ...]   (default: every notebooks/src/*.txt)
"""
import difflib
import json
import os
import pathlib
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbtool  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "notebooks" / "src"
TAGS = {"exercises"}


def setup_source(nb_dir):
    """The setup cell of a notebook in nb_dir: the path to scripts/nbsetup.sh
    is relative to the notebook, as GoNB gives the notebook's folder as GONB_DIR."""
    rel = os.path.relpath(ROOT / nbtool.SETUP_SCRIPT, nb_dir)
    return ("// Module versions from the repository's go.mod, optlab from this working tree\n"
            "// (prints nothing unless something is wrong).\n"
            '!*"${GONB_DIR}/%s"' % rel)


def cells_of(text, nb_dir):
    cells, kind, tags, buf = [], None, [], []

    def flush():
        if kind is None:
            return
        while buf and not buf[-1].strip():
            buf.pop()
        while buf and not buf[0].strip():
            buf.pop(0)
        if kind == "setup":
            if buf:
                raise SystemExit("#### setup takes no lines of its own (found %r)" % buf[0])
            src = setup_source(nb_dir)
        else:
            src = "\n".join(buf)
        if not src:
            return
        meta = {"tags": list(tags)} if tags else {}
        if kind == "md":
            cells.append({"cell_type": "markdown", "metadata": meta, "source": nbtool.split_lines(src)})
        else:
            cells.append({"cell_type": "code", "execution_count": None, "metadata": meta,
                          "outputs": [], "source": nbtool.split_lines(src)})

    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("#### "):
            flush()
            words = line[5:].split()
            kind, tags, buf = (words[0] if words else ""), words[1:], []
            if kind not in ("md", "go", "setup"):
                raise SystemExit("line %d: unknown cell kind %r (md, go or setup)" % (n, kind))
            bad = [t for t in tags if t not in TAGS]
            if bad or (tags and kind != "md"):
                raise SystemExit("line %d: unknown cell tag(s) %s (known: %s on md cells)" % (n, " ".join(tags), ", ".join(sorted(TAGS))))
            continue
        buf.append(line)
    flush()
    return cells


def assign_ids(cells, old_cells, prefix):
    """Give cells the ids of the matching cells of the previous notebook:
    unchanged cells keep theirs, and so do cells edited in place (paired in
    order within a changed stretch, same cell type); others get new ones."""
    def key(c):
        return c["cell_type"] + "\0" + nbtool.source(c)

    used = {c.get("id") for c in old_cells if c.get("id")}
    nums = [int(m.group(1)) for i in used if (m := re.fullmatch(re.escape(prefix) + r"-(\d+)", i or ""))]
    next_num = max(nums, default=-1) + 1
    sm = difflib.SequenceMatcher(a=[key(c) for c in old_cells], b=[key(c) for c in cells], autojunk=False)
    taken = set()
    for op, a0, a1, b0, b1 in sm.get_opcodes():
        if op == "equal":
            for i, j in zip(range(a0, a1), range(b0, b1)):
                cells[j]["id"] = old_cells[i].get("id")
        elif op == "replace":
            olds = list(range(a0, a1))
            for j in range(b0, b1):
                match = next((i for i in olds if old_cells[i]["cell_type"] == cells[j]["cell_type"]), None)
                if match is not None:
                    olds = olds[olds.index(match) + 1:]
                    cells[j]["id"] = old_cells[match].get("id")
    for c in cells:
        cid = c.get("id")
        if not cid or cid in taken:
            cid = "%s-%02d" % (prefix, next_num)
            next_num += 1
            while cid in used or cid in taken:
                cid = "%s-%02d" % (prefix, next_num)
                next_num += 1
            c["id"] = cid
        taken.add(cid)


def build(path):
    path = pathlib.Path(path).resolve()
    if path.parent.name != "src":
        raise SystemExit("%s: a notebook source lives in a folder named src/" % path)
    nb_dir = path.parent.parent
    out = nb_dir / (path.stem + ".ipynb")
    old = nbtool.load(str(out)) if out.exists() else {"cells": [], "metadata": {}}
    cells = cells_of(path.read_text(encoding="utf-8"), nb_dir)
    prefix = path.stem[:2] if re.match(r"[0-9]{2}", path.stem) else path.stem
    assign_ids(cells, old.get("cells", []), prefix)
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Go (gonb)", "language": "go", "name": "gonb"},
            "language_info": {"codemirror_mode": "", "file_extension": ".go",
                              "mimetype": "text/x-go", "name": "go",
                              "nbconvert_exporter": "", "pygments_lexer": "", "version": "go1.24"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    if "optlab" in old.get("metadata", {}):
        nb["metadata"]["optlab"] = old["metadata"]["optlab"]
    nbtool.set_runtime_line(nb)
    nbtool.save(str(out), nb)
    return out


def main(args):
    paths = args or sorted(SRC.glob("*.txt"))
    for p in paths:
        out = build(p)
        try:
            print(out.relative_to(ROOT))
        except ValueError:
            print(out)


if __name__ == "__main__":
    main(sys.argv[1:])
