"""What a student sees: the release notebooks opened and run in JupyterLab, in a real browser.

A module fixture starts a real JupyterLab server (this venv's) on loopback, serving a copy of
the release and a copy of part 1 completed with the model answers; another drives Debian's
headless Chromium through its own chromedriver (`.ci/run` installs `chromium` and
`chromium-driver`; nothing is downloaded). The tests click what a student clicks: the menu
bar's *Kernel → Restart Kernel and Run All Cells…* and the dialog's *Restart*.

Set GRADEKIT_BROWSER_SCREENSHOTS to a folder to keep the screenshots the tests take there.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from conftest import (
    PART1,
    RELEASE,
    SERVER_TIMEOUT,
    SOURCE,
    Lab,
    click_menu,
    js,
    running_lab,
    save_screenshot,
    wait,
)
from selenium.webdriver.common.by import By

from gradekit import submissions

# Run All on the blank part 1 stops at the first check; its whole output is this line.
FIRST_FAILURE = "test_s_at_zero"
FIRST_FAILURE_OUTPUT = (
    "CheckFailed: s is not written yet: replace raise NotImplementedError() with your code"
)
# The figures of the completed part 1 (cell ids).
PLOTS = ["sigmoid-plot", "logistic-plot", "dataset-plot", "evaluate-plot"]
RUN_ALL = "runmenu:restart-and-run-all"  # Kernel → Restart Kernel and Run All Cells…
# The user settings of the test's JupyterLab, JupyterLab's defaults otherwise.
LAB_SETTINGS = {
    # no toast asking whether to fetch Jupyter news (it would cover the outputs)
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # the default, pinned: every cell is in the page (off-screen ones not rendered), so the
    # tests read every cell's prompt and outputs
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "contentVisibility"
    },
}
RUN_TIMEOUT = 180


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving blank/ (a copy of the release) and completed/ (part 1 with the
    model answers), with its own settings and workspaces folders."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(RELEASE, root / "blank")
    answers = submissions.apply_changes(submissions.model_answers(SOURCE), {})
    submissions.write_submission(RELEASE, root / "completed", answers)
    shutil.copy(RELEASE / "checks.py", root / "completed")
    state = Path(tempfile.mkdtemp(prefix="gradekit-lab-"))
    env = dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(state / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(state / "runtime"),
    )
    for name, settings in LAB_SETTINGS.items():
        (state / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (state / "settings" / name).write_text(json.dumps(settings))
    # Matplotlib builds its font cache on its first import ever, saying so on stderr: not in
    # the notebooks' outputs, which must have none.
    subprocess.run([sys.executable, "-c", "import matplotlib.pyplot"], env=env, check=True)
    try:
        with running_lab(root, env, state / "server.log") as server:
            yield server
    finally:
        shutil.rmtree(state, ignore_errors=True)


KERNEL_STATUS = """
const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
return indicator ? indicator.dataset.status : null;
"""
# The notebook's main-area tab: JupyterLab marks unsaved changes with jp-mod-dirty (the dot
# that replaces the tab's close icon).
TAB_CLASSES = """
const tab = document.querySelector('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current');
return tab ? tab.className : null;
"""
# Per cell: type, prompt, outputs (mime type, text, images drawn).
CELLS = """
return [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map(cell => ({
  code: cell.classList.contains('jp-CodeCell'),
  prompt: (cell.querySelector('.jp-InputPrompt') || {}).textContent || '',
  outputs: [...cell.querySelectorAll('.jp-OutputArea-output')].map(output => ({
    mime: output.dataset.mimeType || '',
    text: output.textContent,
    images: [...output.querySelectorAll('img')].filter(
      img => img.complete && img.naturalWidth > 100 && img.naturalHeight > 100).length,
  })),
}));
"""


def open_notebook(driver, lab: Lab, path: str, workspace: str) -> list[str]:
    """Open the notebook in a new browser tab, wait for its kernel to be idle; the cell ids
    of the served file, in the order of the cells on the page."""
    driver.switch_to.new_window("tab")
    driver.get(lab.page(workspace, path))
    ids = [cell.id for cell in nbformat.read(lab.root / path, as_version=4).cells]
    wait(
        driver,
        lambda d: js(d, KERNEL_STATUS) == "idle" and len(js(d, CELLS)) == len(ids),
        SERVER_TIMEOUT,
        f"{path} to open with an idle kernel",
    )
    return ids


def restart_and_run_all(driver) -> list[dict]:
    """Kernel → Restart Kernel and Run All Cells…, Restart in the dialog; the cells once the
    kernel is idle again with no cell waiting to run."""
    label = click_menu(driver, "Kernel", RUN_ALL)
    assert label == "Restart Kernel and Run All Cells…"
    dialog = wait(
        driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".jp-Dialog"), 10, "the dialog"
    )[0]
    assert "Restart Kernel?" in dialog.text
    accept = dialog.find_element(By.CSS_SELECTOR, ".jp-Dialog-button.jp-mod-accept")
    assert accept.text == "Restart"
    accept.click()

    # Before the run no prompt has a number (the release has no outputs); while it runs the
    # queued cells show [*]; JupyterLab clears them when a cell fails.
    stable = []

    def stopped(d):
        cells = js(d, CELLS)
        prompts = " ".join(cell["prompt"] for cell in cells)
        done = (
            js(d, KERNEL_STATUS) == "idle"
            and "[*]" not in prompts
            and re.search(r"\[\d+\]", prompts) is not None
        )
        stable.append(done)
        return cells if stable[-3:] == [True] * 3 else None

    return wait(driver, stopped, RUN_TIMEOUT, "Run All to stop")


def scroll_into_view(driver, index: int) -> None:
    """Scroll the notebook until its cell number `index` is in the middle of the window."""
    cell = driver.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")[index]
    js(driver, "arguments[0].scrollIntoView({block: 'center'})", cell)
    in_view = (
        "const r = arguments[0].getBoundingClientRect(); return r.top > 0 && r.top < innerHeight"
    )
    wait(driver, lambda d: js(d, in_view, cell), 10, f"cell {index} to be in view")


def saved_changes(driver, lab: Lab, path: str, original: Path) -> str:
    """Save the open notebook from the browser (File → Save Notebook) and describe what
    JupyterLab changed in it, outputs aside."""
    click_menu(driver, "File", "docmanager:save")
    wait(driver, lambda d: "jp-mod-dirty" not in js(d, TAB_CLASSES), 30, "the save")
    before = json.loads(original.read_text())
    after = json.loads((lab.root / path).read_text())
    changes = []
    for key in sorted(set(before) | set(after)):
        if key == "cells":
            continue
        if key == "metadata":
            for name in sorted(set(before[key]) | set(after[key])):
                if before[key].get(name) != after[key].get(name):
                    changes.append(
                        f"metadata.{name}: {json.dumps(before[key].get(name))}"
                        f" -> {json.dumps(after[key].get(name))}"
                    )
        elif before.get(key) != after.get(key):
            changes.append(f"{key}: {before.get(key)!r} -> {after.get(key)!r}")
    for old, new in zip(before["cells"], after["cells"], strict=False):
        for field in ("id", "cell_type", "metadata", "source"):
            if old.get(field) != new.get(field):
                changes.append(f"cell {old.get('id')}: {field} changed")
    if len(before["cells"]) != len(after["cells"]):
        changes.append(f"{len(before['cells'])} cells -> {len(after['cells'])}")
    return "\n".join(changes) or "(the saved file is the same)"


@pytest.fixture(scope="module")
def blank_part1(browser, lab):
    """The blank part 1 open in the browser, its kernel idle: (its window, cell ids)."""
    ids = open_notebook(browser, lab, f"blank/{PART1}", "blank")
    return browser.current_window_handle, ids


def test_blank_notebook_opens_unmodified(browser, lab, blank_part1):
    """Opening a release notebook must not mark it modified: a student who only reads it is
    not asked to save on close. (JupyterLab writes the kernel's language_info into the
    notebook's metadata on open; it marks the notebook modified unless the release already
    holds exactly that.)"""
    window, _ = blank_part1
    browser.switch_to.window(window)
    # The kernel's info arrives around the time the kernel turns idle: watch for a while.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and "jp-mod-dirty" not in js(browser, TAB_CLASSES):
        time.sleep(0.25)
    if "jp-mod-dirty" in js(browser, TAB_CLASSES):
        changes = saved_changes(browser, lab, f"blank/{PART1}", RELEASE / PART1)
        pytest.fail(
            f"{PART1} is marked modified right after opening; saved from JupyterLab it "
            f"changes:\n{changes}",
            pytrace=False,
        )


def test_blank_run_all_stops_at_first_failing_check(browser, blank_part1, tmp_path):
    window, ids = blank_part1
    browser.switch_to.window(window)
    cells = restart_and_run_all(browser)
    first = ids.index(FIRST_FAILURE)
    failing = [(ids[i], cell["outputs"]) for i, cell in enumerate(cells) if cell["outputs"]]
    assert failing == [
        (FIRST_FAILURE, [{"mime": "application/vnd.jupyter.stderr", "text": FIRST_FAILURE_OUTPUT, "images": 0}])
    ]  # fmt: skip
    # The check's verdict alone: no traceback, no frame of checks.py.
    assert "\n" not in cells[first]["outputs"][0]["text"]
    for i, cell in enumerate(cells):
        if not cell["code"]:
            continue
        if i <= first:
            assert re.fullmatch(r"\[\d+\]:", cell["prompt"]), (ids[i], cell["prompt"])
        else:
            assert cell["prompt"] == "[ ]:", f"{ids[i]} ran after the failing check"

    scroll_into_view(browser, first)
    save_screenshot(browser, tmp_path, "first-failure.png")


def test_completed_run_all_draws_every_plot(browser, lab, tmp_path):
    ids = open_notebook(browser, lab, f"completed/{PART1}", "completed")
    cells = restart_and_run_all(browser)
    errors = [
        (ids[i], output["text"])
        for i, cell in enumerate(cells)
        for output in cell["outputs"]
        if output["mime"] == "application/vnd.jupyter.stderr"
    ]
    assert errors == []
    not_run = [ids[i] for i, cell in enumerate(cells) if cell["code"] and cell["prompt"] == "[ ]:"]
    assert not_run == []
    images = {ids[i]: sum(o["images"] for o in cell["outputs"]) for i, cell in enumerate(cells)}
    assert {plot: images[plot] for plot in PLOTS} == dict.fromkeys(PLOTS, 1)
    scroll_into_view(browser, ids.index(PLOTS[0]))
    save_screenshot(browser, tmp_path, "completed.png")
