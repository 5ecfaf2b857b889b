#!/usr/bin/python3
"""Real-browser test of the interactive explorer (notebook 04b).

Headless Chromium, driven by chromedriver through Selenium, opens a notebook
in a running Jupyter server (the Docker image's, in CI), clears its saved
outputs, runs every cell from the Cell menu, waits for the explorer's
controls, drags the momentum slider and checks that the figure (the PNG of the
explorer's output) changes, then switches the function with the select box
and checks again, presses Done and checks that the notebook holds no error
output. Screenshots and a summary (summary.json) go to ARTIFACTS.

Usage: browser-test.py BASE_URL TOKEN NOTEBOOK_PATH ARTIFACTS
   e.g. browser-test.py http://127.0.0.1:8888 TOKEN work/04b_explore_momentum.ipynb results/ci-artifacts/browser

Needs Debian's chromium, chromium-driver and python3-selenium (docker/smoke-test.sh
installs them when run as root). Exit status 0 when every check passes, 1 otherwise.
"""
import hashlib
import json
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import JavascriptException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

T0 = time.monotonic()


def log(msg):
    print("[browser %4ds] %s" % (time.monotonic() - T0, msg), flush=True)


class Failed(Exception):
    pass


def main(base, token, path, artifacts):
    os.makedirs(artifacts, exist_ok=True)
    summary = {"notebook": path, "checks": [], "screenshots": []}
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1400,1800", "--hide-scrollbars", "--no-first-run"):
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(120)
    shot_n = [0]

    def shot(name):
        shot_n[0] += 1
        p = os.path.join(artifacts, "%02d-%s.png" % (shot_n[0], name))
        driver.save_screenshot(p)
        summary["screenshots"].append(p)
        log("screenshot %s" % p)

    def check(name, ok, detail=""):
        summary["checks"].append({"check": name, "ok": bool(ok), "detail": detail})
        log("%s %s%s" % ("ok  " if ok else "FAIL", name, (": " + detail) if detail else ""))
        if not ok:
            raise Failed(name + (": " + detail if detail else ""))

    def js(script, *args):
        return driver.execute_script(script, *args)

    def wait(what, cond, timeout):
        try:
            return WebDriverWait(driver, timeout, poll_frequency=0.5).until(lambda d: cond())
        except TimeoutException:
            raise Failed("timed out after %d s waiting for %s" % (timeout, what))

    def explorer_cell():
        # The code cell whose output holds the explorer's figure.
        return js("""
            const cells = Jupyter.notebook.get_cells();
            for (let i = 0; i < cells.length; i++) {
                if (cells[i].cell_type === 'code' && cells[i].get_text().includes('ExploreMomentum')) return i;
            }
            return -1;""")

    def figure_hash():
        # The explorer's PNG, as the browser shows it: the data URI of the
        # <img> in the explorer cell's output.
        src = js("""
            const cell = Jupyter.notebook.get_cell(arguments[0]);
            const imgs = cell.element[0].querySelectorAll('.output_png img');
            return imgs.length ? imgs[imgs.length - 1].getAttribute('src') : null;""", idx)
        return hashlib.sha256(src.encode()).hexdigest()[:16] if src else None

    def paragraph():
        return js("""
            const cell = Jupyter.notebook.get_cell(arguments[0]);
            const md = cell.element[0].querySelectorAll('.output_markdown');
            return md.length ? md[md.length - 1].innerText : '';""", idx)

    def scroll_to_explorer():
        js("Jupyter.notebook.get_cell(arguments[0]).element[0].scrollIntoView({block: 'start'});", idx)
        time.sleep(0.5)

    try:
        url = "%s/notebooks/%s?token=%s" % (base.rstrip("/"), path, token)
        log("opening %s/notebooks/%s" % (base.rstrip("/"), path))
        driver.get(url)

        def kernel_ready():
            try:
                return js("return !!(window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected());")
            except JavascriptException:
                return False
        wait("the notebook and its kernel", kernel_ready, 120)
        idx = explorer_cell()
        check("the notebook has the explorer cell", idx >= 0, "cell %d" % idx)
        saved = figure_hash()
        check("the saved notebook shows the static figure", saved is not None)
        shot("opened")

        # Clear the saved outputs, then run all cells from the menu, as a reader would.
        js("Jupyter.notebook.clear_all_output();")
        check("outputs cleared", figure_hash() is None)
        driver.find_element(By.ID, "celllink").click()
        driver.find_element(By.ID, "run_all_cells").click()
        log("Cell > Run All clicked; waiting for the explorer's controls")

        def controls():
            return js("""
                const cell = Jupyter.notebook.get_cell(arguments[0]);
                return cell.element[0].querySelectorAll('input[type=range]').length;""", idx) >= 2 and figure_hash() is not None
        wait("the sliders and the figure", controls, 600)
        scroll_to_explorer()
        before, text_before = figure_hash(), paragraph()
        check("the explorer drew a figure", before is not None, before)
        shot("explorer-before")

        sliders = driver.find_elements(By.CSS_SELECTOR, "#notebook-container input[type=range]")
        momentum = sliders[-1]
        v0 = momentum.get_attribute("value")
        # Drag the momentum slider's thumb to the right with the mouse.
        width = momentum.size["width"]
        ActionChains(driver).move_to_element(momentum).click_and_hold().move_by_offset(int(width * 0.35), 0).release().perform()
        v1 = momentum.get_attribute("value")
        if v1 == v0:
            # Some builds do not move a range input on a synthetic drag: use the keyboard.
            momentum.click()
            momentum.send_keys(*([Keys.ARROW_RIGHT] * 30))
            v1 = momentum.get_attribute("value")
        check("the momentum slider moved", v1 != v0, "%s -> %s" % (v0, v1))
        wait("the figure to change after the slider moved", lambda: figure_hash() not in (None, before), 120)
        after, text_after = figure_hash(), paragraph()
        check("the figure changed", after != before, "%s -> %s" % (before, after))
        check("the paragraph names the new momentum", text_after != text_before and ("momentum=%g" % (int(v1) / 100)) in text_after,
              text_after[:120])
        scroll_to_explorer()
        shot("explorer-after-slider")

        sel = Select(driver.find_element(By.CSS_SELECTOR, "#notebook-container select"))
        sel.select_by_visible_text("rosenbrock")
        wait("the Rosenbrock figure", lambda: figure_hash() not in (None, after), 120)
        check("choosing Rosenbrock redrew the figure", "rosenbrock" in paragraph(), paragraph()[:120])
        scroll_to_explorer()
        shot("explorer-rosenbrock")

        buttons = [b for b in driver.find_elements(By.CSS_SELECTOR, "#notebook-container button") if b.text.strip() == "Done"]
        check("the explorer has a Done button", len(buttons) == 1)
        buttons[0].click()

        def idle():
            return js("return !Jupyter.notebook.kernel_busy && document.querySelector('#kernel_indicator_icon').classList.contains('kernel_idle_icon');")
        wait("the kernel to finish every cell", idle, 180)
        errors = js("""
            const out = [];
            for (const cell of Jupyter.notebook.get_cells()) {
                if (cell.cell_type !== 'code') continue;
                for (const o of cell.output_area.outputs) {
                    if (o.output_type === 'error') out.push(o.ename + ': ' + o.evalue);
                    if (o.output_type === 'stream' && o.name === 'stderr' && /exit status [1-9]|panic:/.test(o.text)) out.push(o.text.slice(0, 200));
                }
            }
            return out;""")
        check("no cell failed", not errors, "; ".join(errors))
        check("the explorer ended cleanly", "closed" in js("""
            return Jupyter.notebook.get_cell(arguments[0]).element[0].innerText;""", idx))
        scroll_to_explorer()
        shot("done")
        summary["ok"] = True
    except (Failed, WebDriverException) as e:
        summary["ok"] = False
        summary["error"] = str(e).splitlines()[0] if str(e) else type(e).__name__
        log("FAIL: %s" % summary["error"])
        try:
            shot("failure")
            with open(os.path.join(artifacts, "browser-console.json"), "w") as f:
                json.dump(driver.get_log("browser"), f, indent=1)
        except WebDriverException:
            pass
    finally:
        try:
            js("Jupyter.notebook.kernel.kill();")
        except WebDriverException:
            pass
        driver.quit()
        with open(os.path.join(artifacts, "summary.json"), "w") as f:
            json.dump(summary, f, indent=1)
    return 0 if summary.get("ok") else 1


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
