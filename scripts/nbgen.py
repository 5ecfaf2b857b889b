#!/usr/bin/env python3
"""Build notebooks/NN_name.ipynb from notebooks/src/NN_name.txt.

The source format keeps notebooks reviewable as plain text. A source file is a
sequence of cells, each starting with a marker line:

    #### md      a Markdown cell (the following lines, verbatim)
    #### go      a GoNB code cell

Lines before the first marker are ignored (use them for notes to authors).
Regenerating a notebook drops its outputs: run `scripts/notebooks.sh execute`
afterwards to execute it and store the outputs.

Usage: scripts/nbgen.py [notebooks/src/NN_name.txt ...]   (default: every source)
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "notebooks" / "src"
OUT = ROOT / "notebooks"


def cells_of(text):
    cells, kind, buf = [], None, []

    def flush():
        if kind is None:
            return
        while buf and not buf[-1].strip():
            buf.pop()
        while buf and not buf[0].strip():
            buf.pop(0)
        src = [line + "\n" for line in buf]
        if src:
            src[-1] = src[-1].rstrip("\n")
        if kind == "md":
            cells.append({"cell_type": "markdown", "metadata": {}, "source": src})
        else:
            cells.append({"cell_type": "code", "execution_count": None, "metadata": {},
                          "outputs": [], "source": src})

    for line in text.splitlines():
        if line.startswith("#### "):
            flush()
            kind, buf = line[5:].strip(), []
            if kind not in ("md", "go"):
                raise SystemExit(f"unknown cell kind {kind!r}")
            continue
        buf.append(line)
    flush()
    return cells


def build(path):
    nb = {
        "cells": cells_of(path.read_text()),
        "metadata": {
            "kernelspec": {"display_name": "Go (gonb)", "language": "go", "name": "gonb"},
            "language_info": {"codemirror_mode": "", "file_extension": ".go",
                              "mimetype": "text/x-go", "name": "go",
                              "nbconvert_exporter": "", "pygments_lexer": "", "version": "go1.24"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    for i, c in enumerate(nb["cells"]):
        c["id"] = f"{path.stem[:2]}-{i:02d}"
    out = OUT / (path.stem + ".ipynb")
    out.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    print(out.relative_to(ROOT))


def main(args):
    paths = [pathlib.Path(a) for a in args] or sorted(SRC.glob("*.txt"))
    for p in paths:
        build(p)


if __name__ == "__main__":
    main(sys.argv[1:])
