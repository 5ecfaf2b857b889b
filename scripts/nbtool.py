#!/usr/bin/env python3
"""Notebook checks and bookkeeping for optlab's GoNB notebooks (standard library only).

scripts/notebooks.sh calls it; scripts/nbgen.py imports it. Subcommands:

  lint [--strict] NB...        check committed notebooks without running them (see LINT below)
  errors NB                    print the failures recorded in an executed notebook, one per line
  unexecuted NB                print how many code cells have no execution count
  runtime NB [--full S] [--quick S] [--cores N] [--backend B]
                               record measured run times in NB's metadata and rewrite the
                               generated run-time line of its first cell

LINT. Errors (always fatal): a code cell without an execution count, an error output, a
program that exited non-zero, a machine-specific path or a timestamp in an output, `go:
downloading`/`go: added` lines (module downloads belong in the silent setup cell), and no
figure in notebooks 02-09. Warnings (fatal with --strict, meant for CI once the notebooks
are rewritten): numbers in Markdown prose that no cell computed, no run-time line at the
top, no exercises cell at the end, a first code cell that is not the standard setup cell.

Numbers in prose: a digit in a Markdown cell's source is allowed only in a heading's
section number, a list marker, code (`...`, fenced or indented blocks), maths ($...$,
$$...$$), link targets and URLs, HTML comments, years (1900-2099), citations like [3],
notebook numbers (05, "notebook 10"), section/question/exercise/chapter/part/equation
references, and 1-D/2-D/3-D. A cell that quotes reference figures says where they come
from with a comment `<!-- numbers: reference SOURCE -->` (SOURCE is required) and is not
checked. Any other number belongs in a cell's output: format it from the results with
optlab/notebook's Markdown helpers.
"""
import json
import math
import os
import re
import sys

# ---------------------------------------------------------------- files

def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save(path, nb):
    """Write a notebook the way nbformat does (sorted keys, indent 1, UTF-8)."""
    text = json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def source(cell):
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def split_lines(text):
    """Jupyter's list-of-lines form of a cell source."""
    lines = text.split("\n")
    return [l + "\n" for l in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


# ---------------------------------------------------------------- run time

RUNTIME_MARK = "<!-- run time: measured by scripts/notebooks.sh execute -->"
SETUP_SCRIPT = "scripts/nbsetup.sh"


def fmt_duration(seconds):
    """'40 s', '3 min', '1 h 10 min' for a wall time in seconds."""
    s = max(0, float(seconds))
    if s < 90:
        return "%d s" % max(1, round(s))
    m = round(s / 60)
    if m < 90:
        return "%d min" % m
    return "%d h %d min" % (m // 60, m % 60)


def runtime_line(rt):
    """The generated run-time sentence for a notebook's runtime metadata, or None."""
    if not rt:
        return None
    cores = rt.get("cores")
    on = " on %d cores" % cores if cores else ""
    backend = rt.get("backend") or "go"
    if backend != "go":
        on += " (backend %s)" % backend
    full, quick = rt.get("full_seconds"), rt.get("quick_seconds")
    if full is not None and quick is not None:
        text = "Runs in about %s%s (quick mode: %s)." % (fmt_duration(full), on, fmt_duration(quick))
    elif full is not None:
        text = "Runs in about %s%s." % (fmt_duration(full), on)
    elif quick is not None:
        text = "Quick mode runs in about %s%s; the full run time is not measured yet." % (fmt_duration(quick), on)
    else:
        return None
    return "_%s_ %s" % (text, RUNTIME_MARK)


def set_runtime_line(nb):
    """Put the run-time line (from nb.metadata.optlab.runtime) into the first
    Markdown cell, right after its title heading, replacing an earlier one.
    Returns True if the notebook changed."""
    cells = nb.get("cells", [])
    if not cells or cells[0].get("cell_type") != "markdown":
        return False
    line = runtime_line(nb.get("metadata", {}).get("optlab", {}).get("runtime"))
    old = source(cells[0])
    lines = [l for l in old.split("\n") if RUNTIME_MARK not in l]
    # Drop the blank line that separated an old run-time line from the title.
    text = "\n".join(lines)
    text = re.sub(r"\n\n\n+", "\n\n", text)
    lines = text.split("\n")
    if line:
        at = next((i + 1 for i, l in enumerate(lines) if l.startswith("#")), 0)
        lines[at:at] = ([""] if at > 0 else []) + [line] + ([""] if at < len(lines) and lines[at].strip() else [])
    new = "\n".join(lines)
    if new == old:
        return False
    cells[0]["source"] = split_lines(new)
    return True


def cmd_runtime(args):
    path, opts = args[0], {}
    it = iter(args[1:])
    for a in it:
        if a not in ("--full", "--quick", "--cores", "--backend"):
            raise SystemExit("nbtool runtime: unknown option %s" % a)
        opts[a[2:]] = next(it, None)
    nb = load(path)
    meta = nb.setdefault("metadata", {}).setdefault("optlab", {})
    rt = meta.setdefault("runtime", {})
    for key, field, conv in (("full", "full_seconds", float), ("quick", "quick_seconds", float),
                             ("cores", "cores", int), ("backend", "backend", str)):
        if opts.get(key) is not None:
            v = conv(opts[key])
            if isinstance(v, float):
                if not math.isfinite(v) or v < 0:
                    raise SystemExit("nbtool runtime: --%s %s is not a duration in seconds" % (key, opts[key]))
                v = round(v, 1)
            rt[field] = v
    set_runtime_line(nb)
    save(path, nb)


# ---------------------------------------------------------------- outputs

ANSI = re.compile(r"\x1b\[[0-9;]*m")
EXITED = re.compile(r"^(\^C)?(exit status [1-9][0-9]*|signal: [a-z ]+)$", re.M)
MACHINE = re.compile(r"(/work/|/root/|/home/[A-Za-z0-9_.-]+/|/tmp/gonb_|/tmp/go-build|/tmp/tmp)")
STAMP = re.compile(r"\b20[0-9]{2}-[01][0-9]-[0-3][0-9][T ][0-2][0-9]:[0-5][0-9](:[0-5][0-9])?")
# GoNB's script that connects widgets to the kernel, saved when a widget ran
# without a browser and without OPTLAB_HEADLESS=1.
WIDGET_BOOTSTRAP = "Creates a WebSocket connecting to the JupyterServer"
GO_DOWNLOAD = re.compile(r"^go: (downloading|added|upgraded|downgraded|finding) ", re.M)


def output_texts(out):
    kind = out.get("output_type")
    if kind == "stream":
        return [ANSI.sub("", "".join(out.get("text", "")))]
    if kind in ("display_data", "execute_result"):
        data = out.get("data", {})
        return ["".join(data[m]) for m in ("text/plain", "text/html", "text/markdown") if m in data]
    return []


def failures(nb):
    """Failures recorded in an executed notebook: error outputs and programs
    that exited non-zero. GoNB reports a program that panics or exits with a
    non-zero status (and a failing `!` command) only as a stderr line "exit
    status N" or "signal: NAME" while the cell still counts as executed."""
    out, code = [], 0
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        code += 1
        where = "code cell %d (execution count %s)" % (code, cell.get("execution_count"))
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                out.append("%s: %s" % (where, ANSI.sub("", o.get("ename", "") + ": " + o.get("evalue", "")).strip()))
            elif o.get("output_type") == "stream" and o.get("name") == "stderr":
                text = ANSI.sub("", "".join(o.get("text", "")))
                m = EXITED.search(text)
                if m:
                    first = next((l for l in text.splitlines() if l.startswith(("panic:", "fatal error:", "nbsetup:"))), m.group(0))
                    out.append("%s: program failed: %s (%s)" % (where, first.strip(), m.group(0)))
    return out


def unexecuted(nb):
    return sum(1 for c in nb.get("cells", []) if c.get("cell_type") == "code" and source(c).strip() and not c.get("execution_count"))


# ---------------------------------------------------------------- numbers in prose

REFERENCE = re.compile(r"<!--\s*numbers:\s*reference\b(.*?)-->", re.S)
STRIP = [
    re.compile(r"<!--.*?-->", re.S),                       # HTML comments
    re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M),   # fenced code
    re.compile(r"\$\$.+?\$\$", re.S),                      # display maths
    re.compile(r"\\\[.+?\\\]", re.S),
    re.compile(r"\\\(.+?\\\)", re.S),
    re.compile(r"(?<![\\$])\$(?!\s)[^$\n]+?(?<!\s)\$"),     # inline maths
    re.compile(r"(`+)[^`].*?\1", re.S),                    # inline code
    re.compile(r"\]\([^)]*\)"),                            # link targets
    re.compile(r"^\s*\[[^\]]+\]:\s*\S+.*$", re.M),          # reference-style link definitions
    re.compile(r"<[a-zA-Z][^>]*>"),                        # HTML tags and their attributes
    re.compile(r"https?://\S+"),                            # bare URLs
]
INDENTED_CODE = re.compile(r"^( {4}|\t)")
HEADING_NUMBER = re.compile(r"^(#{1,6})\s*[0-9]+[a-z]?(\.[0-9]+)*\s*(?=[·:.)\-–—]|\s|$)")
LIST_MARKER = re.compile(r"^(\s*)[0-9]+[.)](?=\s)")
NUMBER = re.compile(r"(?<![\w.])[0-9]+(?:[.,][0-9]+)*(?:[eE][-+]?[0-9]+)?(?![\w])|(?<![\w.])[0-9]+(?=[\w])")
REF_WORDS = re.compile(r"(notebooks?|section|sections|§|questions?|exercises?|chapter|part|equation|eq\.|cells?)\s*$", re.I)


def prose_numbers(text):
    """The numbers of a Markdown source that the rules above do not allow, in order."""
    for rx in STRIP:
        text = rx.sub(" ", text)
    found = []
    in_list = False
    prev_blank = True
    for raw in text.split("\n"):
        line = raw
        if not line.strip():
            prev_blank = True
            continue
        if LIST_MARKER.match(line) or re.match(r"^\s*[-*+]\s", line):
            in_list = True
        if INDENTED_CODE.match(line) and prev_blank and not in_list:
            prev_blank = False
            continue  # an indented code block
        prev_blank = False
        line = HEADING_NUMBER.sub(r"\1", line)
        line = LIST_MARKER.sub(r"\1", line)
        for m in NUMBER.finditer(line):
            tok, before, after = m.group(0), line[:m.start()], line[m.end():]
            if re.fullmatch(r"(19|20)[0-9]{2}", tok):
                continue  # a year
            if re.fullmatch(r"0[0-9][a-z]?", tok) or re.match(r"[a-z]_", after):
                continue  # a notebook number: 05, 04b, 04_momentum...
            if before.endswith("[") and after.startswith("]"):
                continue  # a citation
            if re.match(r"-D\b", after):
                continue  # 2-D
            if REF_WORDS.search(before) or re.search(r"(notebooks?|questions?|sections?)\s+[0-9]+[a-z]?\s*(,|and|or|–|-|to)\s*$", before, re.I):
                continue  # a reference to a notebook, section, question...
            if re.search(r"arXiv:\s*$", before, re.I):
                continue
            found.append(tok)
    return found


def numbers_findings(nb):
    """(cell index, numbers) for each Markdown cell with numbers in its prose,
    and (cell index, message) for malformed escape hatches."""
    flagged, bad = [], []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "markdown":
            continue
        text = source(cell)
        m = REFERENCE.search(text)
        if m:
            if not m.group(1).strip(" :-\n"):
                bad.append((i, "`<!-- numbers: reference -->` must name the source of the figures, e.g. `<!-- numbers: reference walkthrough, answer B -->`"))
            continue
        nums = prose_numbers("\n".join(l for l in text.split("\n") if RUNTIME_MARK not in l))
        if nums:
            flagged.append((i, nums))
    return flagged, bad


# ---------------------------------------------------------------- lint

def is_setup_cell(cell):
    return SETUP_SCRIPT in source(cell)


def lint(paths, strict=False, out=sys.stderr):
    errors = warnings = 0
    numbers_cells = numbers_total = 0

    def report(path, level, msg):
        nonlocal errors, warnings
        if level == "error" or strict:
            errors += 1
            print("[notebooks] lint: %s: %s" % (path, msg), file=out)
        else:
            warnings += 1
            print("[notebooks] lint: %s: warning: %s" % (path, msg), file=out)

    for path in paths:
        name = os.path.basename(path)
        try:
            nb = load(path)
        except (OSError, ValueError) as e:
            report(path, "error", "unreadable: %s" % e)
            continue
        code, figures = 0, 0
        code_cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
        for cell in code_cells:
            code += 1
            where = "code cell %d" % code
            if source(cell).strip() and not cell.get("execution_count"):
                report(path, "error", "%s has no execution count" % where)
            for o in cell.get("outputs", []):
                kind = o.get("output_type")
                if kind == "error":
                    report(path, "error", "%s has an error output: %s" % (where, ANSI.sub("", o.get("ename", "") + ": " + o.get("evalue", ""))))
                elif kind == "stream" and o.get("name") == "stderr":
                    m = EXITED.search(ANSI.sub("", "".join(o.get("text", ""))))
                    if m:
                        report(path, "error", "%s: its program failed (%s)" % (where, m.group(0)))
                if kind in ("display_data", "execute_result"):
                    data = o.get("data", {})
                    if "image/png" in data or "image/svg+xml" in data:
                        figures += 1
                for t in output_texts(o):
                    m = MACHINE.search(t)
                    if m:
                        report(path, "error", "%s: machine-specific path in output: ...%r..." % (where, t[max(0, m.start() - 30):m.end() + 30]))
                    m = STAMP.search(t)
                    if m:
                        report(path, "error", "%s: timestamp in output: %s" % (where, m.group(0)))
                    if WIDGET_BOOTSTRAP in t:
                        report(path, "error", "%s: GoNB's widget connection script is saved in an output (execute with scripts/notebooks.sh, which sets OPTLAB_HEADLESS=1)" % where)
                    m = GO_DOWNLOAD.search(t)
                    if m:
                        line = t[m.start():].split("\n", 1)[0]
                        report(path, "error", "%s: module download messages in output (%r): use the silent setup cell (%s)" % (where, line, SETUP_SCRIPT))
        if re.match(r"0[2-9][a-z]?_", name) and figures == 0:
            report(path, "error", "no figure (image/png or image/svg+xml output)")

        # Form (warnings until the notebooks are rewritten).
        if code_cells and not is_setup_cell(code_cells[0]):
            report(path, "warning", "the first code cell is not the setup cell (`#### setup` in the source: %s)" % SETUP_SCRIPT)
        cells = nb.get("cells", [])
        if code_cells and not (cells and cells[0].get("cell_type") == "markdown" and RUNTIME_MARK in source(cells[0])):
            report(path, "warning", "no run-time line at the top (scripts/notebooks.sh execute --cold measures and writes it)")
        if not name.startswith("00_"):
            last = cells[-1] if cells else {}
            if "exercises" not in last.get("metadata", {}).get("tags", []):
                report(path, "warning", "the last cell is not an exercises cell (`#### md exercises` in the source)")
        flagged, bad = numbers_findings(nb)
        for i, msg in bad:
            report(path, "warning", "markdown cell %d: %s" % (i, msg))
        for i, nums in flagged:
            numbers_cells += 1
            numbers_total += len(nums)
            shown = ", ".join(nums[:8]) + (", ..." if len(nums) > 8 else "")
            report(path, "warning", "markdown cell %d: %d number(s) in prose that no cell computed: %s" % (i, len(nums), shown))
    print("[notebooks] lint: %d notebook(s), %d error(s), %d warning(s)%s; numbers in prose: %d markdown cell(s), %d number(s)"
          % (len(paths), errors, warnings, "" if strict else " (--strict makes warnings errors)", numbers_cells, numbers_total), file=out)
    return 1 if errors else 0


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == "lint":
        strict = "--strict" in args
        paths = [a for a in args if a != "--strict"]
        return lint(paths, strict=strict)
    if cmd == "errors":
        for line in failures(load(args[0])):
            print(line)
        return 0
    if cmd == "unexecuted":
        print(unexecuted(load(args[0])))
        return 0
    if cmd == "runtime":
        cmd_runtime(args)
        return 0
    print("nbtool: unknown command %s" % cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
