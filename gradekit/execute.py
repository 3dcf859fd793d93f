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
"""

import asyncio
import copy

from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool

from .bridge import Bridge, KernelGone, StudentError
from .judge import Judge, JudgeAgain, is_judged
from .kernel import GradingKernelManager


class ResilientExecute(Execute):
    """nbgrader's Execute, in the kit's grading kernels (working copy, limits, sandbox), surviving kernel deaths."""

    coalesce_streams = Bool(
        True,
        help="Keep a cell's printed output as one stream per channel, however the kernel "
        "split it, so a regrade gives byte-identical notebooks (nbclient's option, made "
        "configurable).",
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", GradingKernelManager)
        super().__init__(*args, **kwargs)

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
                bridge = Bridge(self.km, self.timeout or 60, self.log)
                try:
                    for index in range(start):
                        if index not in killers and not is_judged(nb.cells[index]):
                            self.execute_cell(copy.deepcopy(nb.cells[index]), index)
                    for index in range(start, len(nb.cells)):
                        if is_judged(nb.cells[index]):
                            judge.judge(nb.cells[index], bridge)
                        else:
                            close_quietly(bridge)  # the kernel runs the student's cell
                            self.preprocess_cell(nb.cells[index], self.resources, index)
                    close_quietly(bridge)
                    start = len(nb.cells)
                except JudgeAgain:
                    start = index
                    self.log.warning("Kernel died in cell %d; judging it again, isolated", index)
                except (DeadKernelError, KernelGone):
                    killers.add(index)
                    if index >= start:
                        if not is_judged(nb.cells[index]):
                            record_death(nb.cells[index])
                        start = index + 1
                    self.log.warning("Kernel died in cell %d; restarting it", index)
                finally:
                    bridge.stop()

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
