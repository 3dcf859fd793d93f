"""gradekit: nbgrader assignments graded outside the student's kernel, in parallel, exported to an LMS."""

import warnings

# nbgrader 0.9.6 adds gradebook rows through backrefs, which SQLAlchemy 2 reports and then
# handles ("SAWarning: Object of type <SubmittedNotebook> not in session, add operation along
# ... will not proceed"): noise for a teacher. Off here and, through course.environment(),
# in the nbgrader commands the kit runs.
QUIET = "ignore:Object of type <"
warnings.filterwarnings("ignore", message="Object of type <", module="nbgrader")
