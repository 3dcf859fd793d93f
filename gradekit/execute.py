"""Autograde execution: student cells in the sandboxed kernel, grade cells judged outside it.

`ResilientExecute` replaces nbgrader's `Execute` in the autograde pipeline (so plain
`nbgrader autograde`, the formgrader and `gradekit autograde` all use it). It runs the
student's cells in the kit's grading kernel, and hands every autograder test cell to
`gradekit.judge`, which decides its outcome in the grading process: nothing the kernel prints,
raises or patches can turn a failure into a pass.

nbgrader's `Execute` also gives up on the whole notebook when the kernel dies (a call to
`os._exit`, a segfault, a memory kill), so the student loses every point. Here the death is
recorded as an error in the cell that caused it; a new kernel runs the student's cells before
it again (outputs kept from the first run), and grading goes on with the next cell.

Budgets, whatever the student's code does: what a cell may print (characters, cut before
nbclient looks at the text), the wall-clock time of each check and of all the checks of a
notebook (`gradekit.judge`).
"""

import asyncio
import copy

from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer

from .bridge import Bridge, KernelGone, StudentError
from .judge import Judge, is_judged
from .kernel import GradingKernelManager


class ResilientExecute(Execute):
    """nbgrader's Execute, in the kit's grading kernels (working copy, limits, sandbox), surviving kernel deaths."""

    coalesce_streams = Bool(
        True,
        help="Keep a cell's printed output as one stream per channel, however the kernel "
        "split it, so a regrade gives byte-identical notebooks (nbclient's option, made "
        "configurable).",
    ).tag(config=True)

    test_seconds = Float(
        30.0,
        help="Wall-clock budget of one check (a visible check or one hidden test), in "
        "seconds: sleeping and waiting count. The lecture's checks take well under a second.",
    ).tag(config=True)
    notebook_seconds = Float(
        300.0, help="Wall-clock budget of all the checks of one notebook together, in seconds."
    ).tag(config=True)
    output_chars = Integer(
        100_000,
        help="Characters of output one cell may keep (printed text, error messages, "
        "displayed text); the rest is cut, with a note, before anything else reads it.",
    ).tag(config=True)
    check_order = Integer(
        0,
        help="0: judge the checks in the notebook's order; another number shuffles the tests "
        "of each grade cell and grade cells in a row with it (each check runs in its own copy "
        "of the kernel, so verdicts do not change: the tests use this).",
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", GradingKernelManager)
        super().__init__(*args, **kwargs)
        self.output_used: dict[int, int] = {}

    def preprocess(self, nb, resources=None, km=None):
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        Judge(self, nb, self.resources).run(lambda judge: self.run_cells(nb, judge))
        return nb, self.resources

    def run_cells(self, nb, judge: Judge) -> None:
        """Run the student's cells in the kernel and judge the grade cells, surviving deaths."""
        killers: set[int] = set()  # cells that killed a kernel: never run again
        start = 0
        while start < len(nb.cells):
            with self.setup_kernel():
                bridge = Bridge(self.km, self.log)
                try:
                    for index in range(start):
                        if index not in killers and not is_judged(nb.cells[index]):
                            self.execute_cell(copy.deepcopy(nb.cells[index]), index)
                    index = start
                    while index < len(nb.cells):
                        if is_judged(nb.cells[index]):
                            run = grade_cells_from(nb, index)
                            judge.judge_all([nb.cells[i] for i in run], bridge)
                            index = run[-1] + 1
                        else:
                            close_quietly(bridge)  # the kernel runs the student's cell
                            self.preprocess_cell(nb.cells[index], self.resources, index)
                            index += 1
                    close_quietly(bridge)
                    start = len(nb.cells)
                except (DeadKernelError, KernelGone):
                    killers.add(index)
                    if index >= start:
                        if not is_judged(nb.cells[index]):
                            record_death(nb.cells[index])
                        start = index + 1
                    self.log.warning("Kernel died in cell %d; restarting it", index)
                finally:
                    bridge.stop()

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        self.output_used[cell_index] = 0
        return await super().async_execute_cell(cell, cell_index, *args, **kwargs)

    def output(self, outs, msg, display_id, cell_index):
        """nbclient's, with what the cell shows cut at its budget of characters first."""
        content, left = (
            msg.get("content", {}),
            self.output_chars - self.output_used.get(cell_index, 0),
        )
        size = output_size(content)
        if size > left:
            if left <= 0:
                return None  # the note is there already
            msg = {  # a stream now, whatever it was (nbformat reads the header's type)
                **msg,
                "msg_type": "stream",
                "header": {**msg.get("header", {}), "msg_type": "stream"},
                "content": over_budget(content, left, self.output_chars),
            }
            size = left
        self.output_used[cell_index] = self.output_used.get(cell_index, 0) + size
        return super().output(outs, msg, display_id, cell_index)

    async def _async_poll_kernel_alive(self) -> None:
        # nbclient looks once a second whether the kernel still lives; a kernel killed by a
        # student's code is noticed within 20 ms here (every death costs a restart anyway).
        while True:
            await asyncio.sleep(0.02)
            try:
                await self._async_check_alive()
            except DeadKernelError:
                self.task_poll_for_reply.cancel()
                return


def grade_cells_from(nb, index: int) -> list[int]:
    """The indices of the grade cells in a row that starts at this one."""
    end = index
    while end < len(nb.cells) and is_judged(nb.cells[end]):
        end += 1
    return list(range(index, end))


def output_size(content: dict) -> int:
    """Characters an output message would keep (its texts; a bounded walk)."""
    size, todo = 0, [content]
    while todo:
        value = todo.pop()
        if type(value) is str:
            size += len(value)
        elif type(value) is dict:
            todo += list(value.values())[:1000]
        elif type(value) is list:
            todo += value[:1000]
    return size


CUT_NOTE = "[output cut here: this cell printed more than its budget of"


def over_budget(content: dict, left: int, budget: int) -> dict:
    """A stream output holding what fits of the message's text, then a note."""
    text = content.get("text") if type(content.get("text")) is str else ""
    note = f"\n{CUT_NOTE} {budget:,} characters]\n"
    return {
        "name": "stderr" if content.get("name") == "stderr" else "stdout",
        "text": text[:left] + note,
    }


def close_quietly(bridge: Bridge) -> None:
    """End the checks' conversation with the kernel; a kernel that died meanwhile is found
    by the next cell."""
    try:
        bridge.close()
    except (KernelGone, StudentError):
        pass


def record_death(cell: NotebookNode) -> None:
    """Give the cell an error output saying its code killed the kernel."""
    cell.outputs.append(
        NotebookNode(
            output_type="error",
            ename="KernelDied",
            evalue="the kernel died while running this cell; grading went on in a new kernel",
            traceback=["KernelDied: the kernel died while running this cell"],
        )
    )
