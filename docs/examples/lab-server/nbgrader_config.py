# /etc/jupyter/nbgrader_config.py on a lab server (or each student's ~/.jupyter/): every
# student's nbgrader names the course and the course folder's exchange.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "dl-w1s3"
c.Exchange.root = "/home/teacher/course/exchange"
