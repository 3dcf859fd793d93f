"""nbgrader settings for everyone on the hub (`start` puts them in the hub's environment)."""

c = get_config()  # noqa: F821

# The one exchange of the hub: a folder every user can write to, sticky (made by `start`,
# which writes GRADEKIT_HUB_EXCHANGE here if set).
c.Exchange.root = "/srv/nbgrader/exchange"
# Students' Assignments tab lists this course's work.
c.CourseDirectory.course_id = "dl-w1s3"
