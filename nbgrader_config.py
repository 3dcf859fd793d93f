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

# Feedback says which checks failed and why, never the hidden checks' code.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]

# Grading shows no plots: a non-interactive matplotlib backend saves time on every notebook.
os.environ.setdefault("MPLBACKEND", "agg")
