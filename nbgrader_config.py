"""nbgrader settings for the Curvature Lab course (this repository is the course directory).

solutions/<assignment>/  nbgrader *source* notebooks (instructor version, with solutions)
exercises/<assignment>/  *release* notebooks: the student versions generated from them
submitted/, autograded/, feedback/ and gradebook.db are grading artefacts; .gitignore
keeps them out of version control.
"""

import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "curvature-lab"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# The gradebook: SQLite in the course directory unless CURVATURE_LAB_GRADEBOOK_URL names another
# SQLAlchemy URL, e.g. postgresql://grader@db.example.org:5432/curvature (password in ~/.pgpass).
# tools/grade.py reads the same variable (or --db-url) and passes it to every nbgrader run.
_db_url = os.environ.get("CURVATURE_LAB_GRADEBOOK_URL", "").strip() or "sqlite:///gradebook.db"
if _db_url.startswith(("postgresql://", "postgres://")):  # the driver the lock installs
    _db_url = "postgresql+psycopg2://" + _db_url.split("://", 1)[1]
c.CourseDirectory.db_url = _db_url

# Student versions carry no outputs, like every committed notebook.
c.ClearOutput.enabled = True

# --- Autograding policy (README, "For instructors": the bad-submission policy) ------------------
# Every cell gets at most 60 s; a cell that runs longer (an infinite loop the in-kernel 10 s
# limit of hessian_lab.grading could not stop) is interrupted and scored 0, and grading goes on
# with the next cell. The grading script adds a wall-clock cap per student on top.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.Execute.allow_errors = True
# nbgrader scores 0 any test cell that writes to stderr. hessian_lab.grading already reports the
# warnings and stderr of the student's code on stdout; this drops what still reaches stderr in a
# test cell *if it is a Python warning* (file:line: SomethingWarning: ...), so that a
# RuntimeWarning from correct code costs nothing. Other stderr output still scores 0.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?m)^\S.*:\d+: \w*Warning: "
# Huge outputs are cut before they reach the gradebook and the feedback.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60
