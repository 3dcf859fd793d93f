"""The W1-S3 exercise kit: grading references, LMS exporters and the instructor pipeline."""
