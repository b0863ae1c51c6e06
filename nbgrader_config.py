"""nbgrader settings for the Curvature Lab course (this repository is the course directory).

solutions/<assignment>/  nbgrader *source* notebooks (instructor version, with solutions)
exercises/<assignment>/  *release* notebooks: the student versions generated from them
submitted/, autograded/, feedback/ and gradebook.db are grading artefacts; .gitignore
keeps them out of version control.
"""

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "curvature-lab"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# Student versions carry no outputs, like every committed notebook.
c.ClearOutput.enabled = True
