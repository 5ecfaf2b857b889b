#!/usr/bin/env python3
"""Unit tests of scripts/nbtool.py and scripts/nbgen.py (standard library only).

Run: /usr/bin/python3 -m unittest discover -s scripts -p 'nb*_test.py'
(scripts/notebooks.sh selftest runs them).
"""
import io
import json
import os
import pathlib
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbgen  # noqa: E402
import nbtool  # noqa: E402


def md(text, tags=None):
    c = {"cell_type": "markdown", "metadata": {}, "source": nbtool.split_lines(text)}
    if tags:
        c["metadata"]["tags"] = tags
    return c


def code(text, outputs=(), count=1):
    return {"cell_type": "code", "execution_count": count, "metadata": {}, "outputs": list(outputs),
            "source": nbtool.split_lines(text)}


def stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


SETUP = '!*"${GONB_DIR}/../scripts/nbsetup.sh"'
PNG = {"output_type": "display_data", "data": {"image/png": "iVBOR"}, "metadata": {}}


class NumbersInProse(unittest.TestCase):
    def test_allowed_and_flagged(self):
        cases = [
            ("## 3 · Momentum on a quadratic", []),
            ("# 01 · Why do networks need optimizers?", []),
            ("1. first item\n2. second item", []),
            ("The rate is `lr=0.01` and the spec `adam(lr=1e-3,b1=0.9)`.", []),
            ("Maths: $\\rho = (\\sqrt{\\kappa}-1)/(\\sqrt{\\kappa}+1)$ and $$x^2 + 1$$", []),
            ("Adam (Kingma & Ba, 2015) and [3] and arXiv:1412.6980.", []),
            ("See notebook 04 and notebooks 05 and 06, section 2, question 8.", []),
            ("A 2-D landscape; see [the docs](https://example.com/v1.2/page).", []),
            ("<!-- a comment with 42 -->text", []),
            ("```go\nx := 42\n```", []),
            ("Text before.\n\n    w ← w − 0.1 · g\n", []),
            ("Q1, float32, L2 and β1 are names, not numbers.", []),
            ("SGD reaches 97.3% after 5 epochs", ["97.3", "5"]),
            ("about 4·10⁻⁴, or 1e-3, or 60,000 images", ["4", "10", "1e-3", "60,000"]),
            ("## 2 · Batch size 32", ["32"]),
            ("five times faster: 5.6×", ["5.6"]),
        ]
        for text, want in cases:
            with self.subTest(text=text):
                self.assertEqual(nbtool.prose_numbers(text), want)

    def test_reference_hatch(self):
        nb = {"cells": [md("Answer B reports 97.8%. <!-- numbers: reference walkthrough, answer B -->"),
                        md("Reference figures: 97.8%. <!-- numbers: reference -->"),
                        md("We measured 97.8%.")]}
        flagged, bad = nbtool.numbers_findings(nb)
        self.assertEqual(flagged, [(2, ["97.8"])])
        self.assertEqual([i for i, _ in bad], [1])

    def test_runtime_line_is_not_prose(self):
        nb = {"cells": [md("# 04 · Momentum")], "metadata": {"optlab": {"runtime": {"full_seconds": 725, "quick_seconds": 41, "cores": 2}}}}
        nbtool.set_runtime_line(nb)
        self.assertEqual(nbtool.numbers_findings(nb), ([], []))


class RunTime(unittest.TestCase):
    def test_line(self):
        self.assertEqual(nbtool.fmt_duration(40.4), "40 s")
        self.assertEqual(nbtool.fmt_duration(725), "12 min")
        self.assertEqual(nbtool.fmt_duration(6000), "1 h 40 min")
        line = nbtool.runtime_line({"full_seconds": 725, "quick_seconds": 41, "cores": 2, "backend": "go"})
        self.assertTrue(line.startswith("_Runs in about 12 min on 2 cores (quick mode: 41 s)._ "), line)
        self.assertIn("quick mode runs in about 41 s".lower(), nbtool.runtime_line({"quick_seconds": 41, "cores": 2}).lower())
        self.assertIn("(backend xla:cpu)", nbtool.runtime_line({"full_seconds": 60, "cores": 2, "backend": "xla:cpu"}))
        self.assertIsNone(nbtool.runtime_line({}))

    def test_set_replaces_and_places_under_the_title(self):
        nb = {"cells": [md("# 04 · Momentum\n\nIntro text.")], "metadata": {"optlab": {"runtime": {"full_seconds": 725, "quick_seconds": 41, "cores": 2}}}}
        self.assertTrue(nbtool.set_runtime_line(nb))
        first = nbtool.source(nb["cells"][0]).split("\n")
        self.assertEqual(first[0], "# 04 · Momentum")
        self.assertEqual(first[1], "")
        self.assertIn("12 min", first[2])
        self.assertEqual(first[3:], ["", "Intro text."])
        nb["metadata"]["optlab"]["runtime"]["full_seconds"] = 300
        self.assertTrue(nbtool.set_runtime_line(nb))
        text = nbtool.source(nb["cells"][0])
        self.assertEqual(text.count(nbtool.RUNTIME_MARK), 1)
        self.assertIn("5 min", text)
        self.assertFalse(nbtool.set_runtime_line(nb), "a second call with the same times changes nothing")

    def test_runtime_command(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "n.ipynb")
            nbtool.save(p, {"cells": [md("# 01 · Title")], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
            nbtool.cmd_runtime([p, "--quick", "40.44", "--cores", "2", "--backend", "go"])
            nb = nbtool.load(p)
            self.assertEqual(nb["metadata"]["optlab"]["runtime"], {"quick_seconds": 40.4, "cores": 2, "backend": "go"})
            nbtool.cmd_runtime([p, "--full", "700"])
            nb = nbtool.load(p)
            self.assertEqual(nb["metadata"]["optlab"]["runtime"]["full_seconds"], 700.0)
            self.assertIn("Runs in about 12 min on 2 cores (quick mode: 40 s)", nbtool.source(nb["cells"][0]))
            with self.assertRaises(SystemExit):
                nbtool.cmd_runtime([p, "--full", "nan"])


class Lint(unittest.TestCase):
    def run_lint(self, nb, name="04_x.ipynb", strict=False):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, name)
            nbtool.save(p, nb)
            out = io.StringIO()
            rc = nbtool.lint([p], strict=strict, out=out)
            return rc, out.getvalue()

    def good(self):
        nb = {"cells": [md("# 04 · Title"), code(SETUP), code("%%\nfmt.Println(1)", [stream("1\n"), PNG]),
                        md("Exercises: try it.", tags=["exercises"])],
              "metadata": {"optlab": {"runtime": {"full_seconds": 60, "quick_seconds": 10, "cores": 2}}}}
        nbtool.set_runtime_line(nb)
        return nb

    def test_clean_notebook(self):
        rc, out = self.run_lint(self.good(), strict=True)
        self.assertEqual(rc, 0, out)
        self.assertIn("0 error(s), 0 warning(s)", out)

    def test_errors(self):
        cases = [
            ("go: downloading", lambda nb: nb["cells"][1]["outputs"].append(stream("go: downloading github.com/x/y v1.0.0\n", "stderr")), "module download messages"),
            ("go: added", lambda nb: nb["cells"][1]["outputs"].append(stream("go: added github.com/x/y v1.0.0\n", "stderr")), "module download messages"),
            ("unexecuted", lambda nb: nb["cells"][2].update(execution_count=None), "has no execution count"),
            ("failed program", lambda nb: nb["cells"][2]["outputs"].append(stream("panic: x\nexit status 2\n", "stderr")), "its program failed (exit status 2)"),
            ("machine path", lambda nb: nb["cells"][2]["outputs"].append(stream("/root/go/pkg/mod/x\n")), "machine-specific path"),
            ("timestamp", lambda nb: nb["cells"][2]["outputs"].append(stream("at 2026-11-30 12:00:01\n")), "timestamp in output"),
            ("no figure", lambda nb: nb["cells"][2]["outputs"].remove(PNG), "no figure"),
            ("widget bootstrap", lambda nb: nb["cells"][2]["outputs"].append({"output_type": "display_data", "metadata": {}, "data": {"text/html": "<script>/**\n * Creates a WebSocket connecting to the JupyterServer and through it to the GoNB kernel.\n */</script>"}}), "widget connection script"),
        ]
        for name, change, want in cases:
            with self.subTest(name=name):
                nb = self.good()
                change(nb)
                rc, out = self.run_lint(nb)
                self.assertEqual(rc, 1, out)
                self.assertIn(want, out)

    def test_warnings_fail_only_when_strict(self):
        cases = [
            ("numbers", lambda nb: nb["cells"].insert(3, md("Adam reached 97.3%.")), "markdown cell 3: 1 number(s) in prose that no cell computed: 97.3"),
            ("no exercises", lambda nb: nb["cells"][3]["metadata"].clear(), "the last cell is not an exercises cell"),
            ("no run time", lambda nb: nb["cells"][0].update(source=["# 04 · Title"]), "no run-time line"),
            ("old setup", lambda nb: nb["cells"][1].update(source=["!*go get github.com/gomlx/gomlx@v0.26.0"]), "the first code cell is not the setup cell"),
        ]
        for name, change, want in cases:
            with self.subTest(name=name):
                nb = self.good()
                change(nb)
                rc, out = self.run_lint(nb)
                self.assertEqual(rc, 0, out)
                self.assertIn("warning: " + want, out)
                rc, out = self.run_lint(nb, strict=True)
                self.assertEqual(rc, 1, out)
                self.assertIn(want, out)

    def test_index_needs_no_exercises(self):
        nb = self.good()
        nb["cells"][3]["metadata"].clear()
        rc, out = self.run_lint(nb, name="00_index.ipynb", strict=True)
        self.assertEqual(rc, 0, out)


class Gen(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.src = pathlib.Path(self.dir.name) / "nbs" / "src" / "07_demo.txt"
        self.src.parent.mkdir(parents=True)

    def gen(self, text):
        self.src.write_text(text)
        nbgen.build(self.src)
        return nbtool.load(str(self.src.parent.parent / "07_demo.ipynb"))

    def test_markers_and_setup_path(self):
        nb = self.gen("notes\n#### md\n# 07 · Demo\n#### setup\n#### go\n%%\nx := 1\n#### md exercises\nTry it.\n")
        kinds = [(c["cell_type"], c["metadata"].get("tags")) for c in nb["cells"]]
        self.assertEqual(kinds, [("markdown", None), ("code", None), ("code", None), ("markdown", ["exercises"])])
        setup = nbtool.source(nb["cells"][1])
        rel = os.path.relpath(nbgen.ROOT / "scripts" / "nbsetup.sh", self.src.parent.parent)
        self.assertIn('!*"${GONB_DIR}/%s"' % rel, setup)
        for bad in ("#### py\nx\n", "#### go exercises\nx\n", "#### md exercise\nx\n", "#### setup\nextra line\n"):
            with self.subTest(bad=bad), self.assertRaises(SystemExit):
                self.gen(bad)

    def test_ids_stay_with_their_cells(self):
        nb = self.gen("#### md\n# 07 · Demo\n#### go\nA\n#### md\nB\n#### go\nC\n")
        ids = {nbtool.source(c): c["id"] for c in nb["cells"]}
        self.assertEqual(len(set(ids.values())), 4)
        # Insert a cell before B, edit C in place, drop nothing.
        nb = self.gen("#### md\n# 07 · Demo\n#### go\nA\n#### md\nNEW\n#### md\nB\n#### go\nC edited\n")
        got = {nbtool.source(c): c["id"] for c in nb["cells"]}
        self.assertEqual(got["A"], ids["A"])
        self.assertEqual(got["B"], ids["B"])
        self.assertEqual(got["C edited"], ids["C"])
        self.assertNotIn(got["NEW"], ids.values())
        # Delete A; a new cell later must not reuse A's id.
        nb = self.gen("#### md\n# 07 · Demo\n#### md\nNEW\n#### md\nB\n#### go\nC edited\n#### go\nD\n")
        got2 = {nbtool.source(c): c["id"] for c in nb["cells"]}
        self.assertNotEqual(got2["D"], ids["A"])
        self.assertEqual(len(set(got2.values())), len(got2))

    def test_runtime_survives_regeneration(self):
        self.gen("#### md\n# 07 · Demo\n#### go\nA\n")
        out = str(self.src.parent.parent / "07_demo.ipynb")
        nbtool.cmd_runtime([out, "--full", "120", "--quick", "30", "--cores", "2"])
        nb = self.gen("#### md\n# 07 · Demo\n\nNew intro.\n#### go\nA\n")
        self.assertEqual(nb["metadata"]["optlab"]["runtime"]["full_seconds"], 120.0)
        self.assertIn("Runs in about 2 min on 2 cores (quick mode: 30 s)", nbtool.source(nb["cells"][0]))
        self.assertIn("New intro.", nbtool.source(nb["cells"][0]))


if __name__ == "__main__":
    unittest.main()
