"""A student's JupyterLab workspace: the book's reading edition and the exercises, copied so
that nothing the student changed is ever overwritten (``make lab``).

The workspace holds ``START_HERE.ipynb``, ``book/`` (the reading edition that every site build
writes to ``_build/lab``, see ``book/_ext/lab_edition.py``) and ``exercises/``. A manifest
(``.curvature-lab/manifest.json``) records the sha256 of every file as it was copied. On the
next sync a file is

- copied when the workspace has none;
- replaced by the new version only when the student's copy is still the one copied (same hash);
- left alone when the student changed it; the new version, if there is one, goes beside it as
  ``NAME.new.ipynb`` and the sync says so.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = Path(".curvature-lab") / "manifest.json"


@dataclass
class SyncReport:
    copied: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)        # edited by the student, new one beside
    unchanged: int = 0

    def lines(self) -> list[str]:
        out = []
        if self.copied:
            out.append(f"copied {len(self.copied)} notebook(s) into the workspace")
        if self.updated:
            out.append(f"updated {len(self.updated)} notebook(s) you had not changed: "
                       + ", ".join(self.updated))
        for rel in self.kept:
            new = _beside(Path(rel))
            out.append(f"kept your edited {rel}; the book's new version is {new}")
        return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _beside(rel: Path) -> Path:
    return rel.with_name(rel.stem + ".new" + rel.suffix)


def sources(edition: Path, exercises: Path | None) -> dict[str, Path]:
    """Workspace path -> the file it comes from."""
    found: dict[str, Path] = {}
    if not (edition / "START_HERE.ipynb").is_file():
        raise FileNotFoundError(
            f"{edition} holds no reading edition (no START_HERE.ipynb): build the book first "
            "(`make book`), which writes it")
    for path in sorted(edition.rglob("*.ipynb")):
        found[path.relative_to(edition).as_posix()] = path
    if exercises is not None and exercises.is_dir():
        for path in sorted(exercises.glob("*/*.ipynb")):
            found[f"exercises/{path.relative_to(exercises).as_posix()}"] = path
    return found


def sync(edition: Path, workspace: Path, exercises: Path | None = None) -> SyncReport:
    """Bring ``workspace`` up to date with the reading edition and the exercises, never
    overwriting a file the student changed."""
    edition, workspace = Path(edition), Path(workspace)
    files = sources(edition, Path(exercises) if exercises else None)
    manifest_path = workspace / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        manifest = {}
    except (OSError, ValueError) as err:
        raise RuntimeError(f"{manifest_path} is unreadable ({err}); move it away and run "
                           "again (your notebooks are not touched)") from err
    report = SyncReport()
    for rel, source in files.items():
        dest = workspace / rel
        new = _sha(source)
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
            manifest[rel] = new
            report.copied.append(rel)
            continue
        current = _sha(dest)
        if current == new:
            manifest[rel] = new
            report.unchanged += 1
        elif new == manifest.get(rel):                # edited, and no new version to offer
            report.unchanged += 1
        elif current == manifest.get(rel):            # the student's copy is the one we made
            shutil.copyfile(source, dest)
            manifest[rel] = new
            report.updated.append(rel)
        else:                                         # edited: keep it, put the new one beside
            beside = workspace / _beside(Path(rel))
            if not beside.exists() or _sha(beside) != new:
                shutil.copyfile(source, beside)
            report.kept.append(rel)
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(manifest_path)
    return report


def run(args) -> int:
    """``curvature-lab workspace``: sync, print what changed."""
    try:
        report = sync(Path(args.edition), Path(args.into),
                      Path(args.exercises) if args.exercises else None)
    except (FileNotFoundError, RuntimeError) as err:
        print(f"curvature-lab workspace: {err}")
        return 1
    for line in report.lines():
        print(line)
    print(f"workspace: {Path(args.into).resolve()}")
    return 0


def add_arguments(parser) -> None:
    parser.add_argument("--edition", default="_build/lab",
                        help="the reading edition the site build wrote (default: _build/lab)")
    parser.add_argument("--exercises", default="exercises",
                        help="the student versions of the assignments (default: exercises)")
    parser.add_argument("--into", default="workspace",
                        help="the student's workspace (default: workspace)")
