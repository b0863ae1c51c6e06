"""The instructor's side of the course: the source notebooks, their checker and the commands.

The assignments' source is ``solutions/<assignment>/<assignment>.ipynb``, edited by hand in
JupyterLab (nbgrader's "Create Assignment" toolbar); ``exercises/`` holds the student versions
``nbgrader generate_assignment`` makes from them. :mod:`.source` reads a source notebook into
its parts, :mod:`.check` enforces the authoring rules, and :mod:`.cli` is the
``curvature-lab`` command (``curvature-lab check-course``, ``curvature-lab new-part``, ...).

Nothing here is imported by ``import hessian_lab`` or by a grading kernel.
"""
