"""Late penalties, as an nbgrader late-submission plugin (set in nbgrader_config.py).

A notebook handed in after the assignment's due date (`nbgrader db assignment add
<assignment> --duedate ...`, or the formgrader) loses `percent_per_day` percent of its score
for each day, or part of a day, it is late, up to its whole score. nbgrader's
AssignLatePenalties stores the penalty in the gradebook; feedback and every LMS export
subtract it.
"""

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float


class PercentPerDay(LateSubmissionPlugin):
    """Each day (or part of one) late costs a share of the notebook's score."""

    percent_per_day = Float(
        10.0, help="Percent of a notebook's score lost per day, or part of a day, late."
    ).tag(config=True)

    def late_submission_penalty(
        self, student_id: str, score: float, total_seconds_late: float
    ) -> float:
        days = math.ceil(total_seconds_late / 86400)
        return min(score, round(score * self.percent_per_day * days / 100, 4))
