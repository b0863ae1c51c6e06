"""``curvature-lab``: the course's commands (check-course, grade, export, workspace)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _check_course(args) -> int:
    from .check import check_course, clear_outputs
    from .source import assignments

    course = Path(args.course).resolve()
    if args.clear_outputs:
        for name in assignments(course):
            if clear_outputs(course, name):
                print(f"cleared the outputs of solutions/{name}/{name}.ipynb")
    found = check_course(course, exercises=not args.no_exercises)
    for finding in found:
        print(finding)
    names = assignments(course)
    if found:
        print(f"{len(found)} problem(s) in {len(names)} assignment(s)")
        return 1
    print(f"course OK: {len(names)} assignments follow the authoring rules"
          + ("" if args.no_exercises else "; exercises/ is in sync"))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="curvature-lab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check-course", help="check the source notebooks in solutions/")
    check.add_argument("--course", default=".", help="the course directory (default: .)")
    check.add_argument("--no-exercises", action="store_true",
                       help="skip the nbgrader run that checks exercises/ is in sync")
    check.add_argument("--clear-outputs", action="store_true",
                       help="clear the source notebooks' outputs first")
    check.set_defaults(run=_check_course)
    grade = sub.add_parser("grade", help="autograde a round of submissions in sandboxes: "
                           "grades, feedback, Canvas CSV, Gradescope JSON")
    from .grade import add_arguments, add_export_arguments, export, run

    add_arguments(grade)
    grade.set_defaults(run=run)
    again = sub.add_parser("export", help="write a round's grades, Canvas CSV and Gradescope "
                           "JSON again from the gradebook (after a review in the formgrader)")
    add_export_arguments(again)
    again.set_defaults(run=export)
    space = sub.add_parser("workspace", help="copy the book's reading edition and the "
                           "exercises into a student's JupyterLab workspace (make lab), "
                           "never overwriting what the student changed")
    from .workspace import add_arguments as workspace_arguments
    from .workspace import run as workspace_run

    workspace_arguments(space)
    space.set_defaults(run=workspace_run)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
