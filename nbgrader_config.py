"""nbgrader settings for the W1-S3 course; every nbgrader command run in this folder reads them."""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades

from gradekit.feedback import HideHiddenTests

c = get_config()  # noqa: F821

c.CourseDirectory.course_id = "dl-w1s3"

# The stub students see in place of each solution block.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# A numpy RuntimeWarning on stderr must not zero a check cell (nbgrader zeroes any cell
# that writes to stderr); the checks also silence warnings around the calls they make.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"RuntimeWarning"

# A busy grading machine can be slow to deliver a cell's last output; nbgrader treats a late
# message as a failure of the whole notebook (raise_on_iopub_timeout), so allow it time.
c.Execute.iopub_timeout = 60

# Feedback says which checks failed and why, never the hidden checks' code.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]

# LMS exports (`gradekit export canvas`, ...): see README, "Grades into the LMS". For example:
# c.LmsExport.roster = "roster.csv"
# c.LmsExport.column_ids = {"w1s3": "4021"}

# Grading shows no plots: a non-interactive matplotlib backend saves time on every notebook.
os.environ.setdefault("MPLBACKEND", "agg")
