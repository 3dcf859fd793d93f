"""gradekit: nbgrader assignments graded outside the student's kernel, in parallel, exported to an LMS."""
