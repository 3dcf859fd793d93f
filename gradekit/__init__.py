"""gradekit: nbgrader assignments graded outside the student's kernel, in parallel, exported to an LMS."""

import warnings

# nbgrader 0.9.6 adds gradebook rows through backrefs, which SQLAlchemy 2 reports and then
# handles ("SAWarning: Object of type <SubmittedNotebook> not in session, add operation along
# ... will not proceed"): noise for a teacher. Off here and, through course.environment()
# (QUIET, for PYTHONWARNINGS), in the nbgrader commands the kit runs.
NOISE = "Object of type <"
QUIET = f"ignore:{NOISE}"
warnings.filterwarnings("ignore", message=NOISE, module="nbgrader")
