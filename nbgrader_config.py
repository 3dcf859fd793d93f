"""nbgrader settings for the W1-S3 course; every nbgrader command run in this folder reads them."""

from gradekit import feedback
from gradekit.exchange import course_exchange

c = get_config()  # noqa: F821

c.CourseDirectory.course_id = "dl-w1s3"

# The hidden checks' reference math (source/<assignment>/reference.py) is never released,
# nor taken from a student's submission.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "reference.py",
]

# The stub students see in place of each solution block.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# numpy RuntimeWarnings printed by the student's own cells are dropped from their stderr
# (the check cells are judged outside the kernel: nothing there reads stderr).
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"RuntimeWarning"

# Autograde as nbgrader does, with these changes. Grade cells are judged in the grading
# process, never in the student's kernel (docs/fairness.md); their hidden
# checks draw inputs from the course secret (gradekit/secret.py says where it lives). The
# metadata check (in both passes) compiles nbgrader's JSON schema once instead of checking
# the schema again for every cell. The gradebook is read once per notebook for its locked
# cells and points, not once per cell, and a notebook's grades reach it in one transaction,
# not one per cell (each commit waits for the disk). And a kernel killed by a
# student's code (os._exit, a segfault) costs only the cell that killed it, and kernels run
# in the kit's sandbox, in a private copy of the student's folder, under resource limits
# (docs/operations/sandbox.md):
# c.GradingKernelManager.sandbox = False  # a trusted run, without the sandbox
# c.GradingKernelManager.memory = 4 * 2**30  # also .file_size, .cpu_seconds, .processes
# c.GradingKernelManager.warm = False  # start every kernel cold (docs/operations/sandbox.md)
# (Names, not classes: the formgrader can then show this configuration.)
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "gradekit.course.OverwriteCellsReadOnce",
    "gradekit.metadata.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "gradekit.execute.ResilientExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "gradekit.course.SaveAutoGradesAtOnce",
    "gradekit.late.GrantExtensions",
    "nbgrader.preprocessors.AssignLatePenalties",
    "gradekit.review.FlagForReview",
    "gradekit.metadata.CheckCellMetadata",
]

# Code that tampers, or tries to, is flagged for a look by hand (docs/instructor/grading.md):
# the check after it "needs manual grade" in the formgrader, the reason in a comment.

# Late work: after the due date, set with the formgrader or with
# `nbgrader db assignment add w1s3 --duedate "2026-12-04 23:59 Europe/Paris"`
# (docs/instructor/exchange.md), each day or part of a day late costs 10% of a notebook's
# score. nbgrader's own choices: "nbgrader.plugins.LateSubmissionPlugin" with
# c.LateSubmissionPlugin.penalty_method = "zero" (late is 0) or "none" (no penalty).
c.AssignLatePenalties.plugin_class = "gradekit.late.PercentPerDay"
c.PercentPerDay.percent_per_day = 10
# A student's own due date (`gradekit extend w1s3 <student> --until ... --reason ...`) is
# kept in extensions.csv and applied at every autograde (gradekit.late.GrantExtensions).

# The exchange, through which release_assignment, fetch_assignment, submit, collect and
# release_feedback / fetch_feedback pass the work. On one machine: `exchange/` in this
# course folder, made on first use (writable by everyone, sticky; students can hand work in
# but not read each other's). Students' nbgrader must name the same folder and course id
# (docs/instructor/exchange.md). On a JupyterHub: one shared folder, written here and in
# /etc/jupyter/nbgrader_config.py, e.g. c.Exchange.root = "/srv/nbgrader/exchange".
c.Exchange.root = course_exchange(__file__)

# `gradekit autograde --jobs N` (and `gradekit watch`) keeps each of its N workers, with its
# kernels, on a core of its own when N is at most the cores it may use; on a machine whose
# cores other busy programs share, let the system move them instead:
# c.GradingWorkers.one_core_each = False

# A class graded on a Dask cluster (docs/operations/dask.md): its scheduler, for
# `gradekit autograde`; the gradebook must then be PostgreSQL (c.CourseDirectory.db_url).
# c.DaskCluster.scheduler = "tcp://scheduler.example.edu:8786"

# A student who submits again before the next collect has the newest copy collected (and
# graded again by the next autograde): nbgrader's collect keeps the first one by default.
c.ExchangeCollect.update = True

# Validate each notebook once, after all preprocessors, rather than after every one of them.
c.Exporter.optimistic_validation = True

# No cell of this assignment needs more than a second or two: a cell that loops forever is
# interrupted after 15 s (the rest of the notebook is still graded).
c.Execute.timeout = 15

# Outputs are collected once the last cell has run: stop the kernel at once rather than wait
# for it to shut down gracefully (about 0.4 s per notebook).
c.Execute.shutdown_kernel = "immediate"

# A graded cell a student deleted is put back from the gradebook (and scores as it runs).
c.OverwriteCells.add_missing_cells = True

# A busy grading machine can be slow to deliver a cell's last output; nbgrader treats a late
# message as a failure of the whole notebook (raise_on_iopub_timeout), so allow it time.
c.Execute.iopub_timeout = 60

# Feedback says which checks failed and why, never the hidden checks' code: a summary of
# every check (by exercise, failed first) on top of the page, formulas drawn without MathJax
# from the internet (docs/instructor/index.md, step 7).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "gradekit.feedback.HideHiddenTests",
    "gradekit.feedback.SummariseChecks",
    "gradekit.feedback.RenderMath",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# The page's template, for the feedback only (the formgrader's pages keep theirs).
c.GenerateFeedback.HTMLExporter.template_name = "gradekit_feedback"
c.GenerateFeedback.HTMLExporter.template_file = "page.html.j2"
c.GenerateFeedback.HTMLExporter.extra_template_basedirs = [
    feedback.TEMPLATES,
    feedback.NBGRADER_TEMPLATES,
]

# Canvas "Download Submissions" zip (`nbgrader zip_collect w1s3`): see
# docs/instructor/lms.md.
# c.ZipCollectApp.collector_plugin = "gradekit.collect.RosterCollector"
# c.RosterCollector.roster = "roster.csv"
# c.RosterCollector.named_regexp = r"..."  # another LMS's file names (default: Canvas's)
# c.RosterCollector.roster_column = "username"  # what the names carry (default: lms_user_id)

# LMS exports (`gradekit export canvas`, ...): see docs/instructor/lms.md. For example:
# c.LmsExport.roster = "roster.csv"
# c.LmsExport.column_ids = {"w1s3": "4021"}

# Budgets of the checks (gradekit.execute.ResilientExecute): each check runs in its own copy
# of the student's kernel and takes well under a second on the lecture's notebooks.
c.ResilientExecute.test_seconds = 10
c.ResilientExecute.notebook_seconds = 180
c.ResilientExecute.output_chars = 100_000
