"""The trusted side of a grading round: what ``grade.py`` does outside every sandbox.

* **Round secrets in the restored test cells.** Each test cell of the course's copy of the
  source notebooks gets, at grading time, a receipt key of its own (``_check(...,
  _receipt=KEY)``) and each hidden-test block its seed (``_use_seed(...)``). nbgrader restores
  these cells into every submission before it runs, so the keys and the seed reach a kernel
  only when the test cell itself runs: never through the environment or a file.
* **Tamper evidence.** A digest of every submitted file and of the gradebook rows the round
  does not own, taken before the round and compared after it.
* **What the instructor reads.** Flags grouped one line per cause; feedback without the
  grading machine's paths or the grader's source lines; nbgrader's routine warnings counted
  once instead of repeated in every student's log.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sys
from pathlib import Path

# --------------------------------------------------------------------------- round secrets

_CHECK_CALL = re.compile(r'^(\s*_check\("([a-z0-9_]+)".*?)\)\s*$')
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"


def hidden_seed(seed, grade_id: str) -> str:
    """The seed one hidden test gets: derived from the round's seed and the test's id."""
    return hashlib.sha256(f"{seed}|{grade_id}".encode()).hexdigest()[:24]


def add_round_secrets(source_nb: Path, seed) -> dict[str, str]:
    """Write receipt keys and hidden seeds into the test cells of a course copy of a source
    notebook; returns {grade_id: receipt key}."""
    nb = json.loads(source_nb.read_text(encoding="utf-8"))
    keys = {}
    for cell in nb["cells"]:
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if cell.get("cell_type") != "code" or not meta.get("grade"):
            continue
        grade_id = meta.get("grade_id", "")
        lines = "".join(cell["source"]).splitlines()
        out = []
        for line in lines:
            match = _CHECK_CALL.match(line)
            if match and match.group(2) == grade_id:
                key = secrets.token_hex(16)
                keys[grade_id] = key
                line = f'{match.group(1)}, _receipt="{key}")'
            out.append(line)
            if line.strip() == HIDDEN_BEGIN and seed is not None:
                indent = line[: len(line) - len(line.lstrip())]
                out.append(f"{indent}from hessian_lab.grading import use_seed as _use_seed")
                out.append(f'{indent}_use_seed("{hidden_seed(seed, grade_id)}")')
        cell["source"] = [text + "\n" for text in out[:-1]] + out[-1:]
    source_nb.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return keys


# --------------------------------------------------------------------------- tamper evidence


def file_digests(folders) -> dict[str, str]:
    digests = {}
    for folder in folders:
        if folder is None or not Path(folder).exists():
            continue
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and not path.is_symlink():
                digests[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def gradebook_digests(db_url: str, owned: set[tuple[str, str]]) -> dict[str, str]:
    """Digest of every gradebook submission the round does not own: {student/assignment: sha}."""
    from nbgrader.api import Gradebook

    digests = {}
    with Gradebook(db_url) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                student = submission.student.id
                if (student, assignment.name) in owned:
                    continue
                rows = []
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        rows.append((notebook.name, grade.name, grade.auto_score,
                                     grade.manual_score, grade.extra_credit))
                    for comment in notebook.comments:
                        rows.append((notebook.name, comment.name, comment.auto_comment,
                                     comment.manual_comment))
                digests[f"{student}/{assignment.name}"] = hashlib.sha256(
                    repr(sorted(rows, key=repr)).encode()).hexdigest()
    return digests


def compare(before: dict, after: dict, what: str) -> list[str]:
    findings = []
    for key, value in before.items():
        if key not in after:
            findings.append(f"{what} {key} was deleted during the round")
        elif after[key] != value:
            findings.append(f"{what} {key} was changed during the round")
    for key in after.keys() - before.keys():
        findings.append(f"{what} {key} appeared during the round")
    return findings


# --------------------------------------------------------------------------- flags

_GROUPS = [
    (re.compile(r"^cell (\S+) deleted or its nbgrader metadata stripped$"),
     "test cells deleted or their nbgrader metadata stripped (those tests score 0)", "{0}"),
    (re.compile(r"^locked cell (\S+) edited$"), "locked cells edited (restored before grading)",
     "{0}"),
    (re.compile(r"^points of (\S+) changed \((.*)\)$"), "points changed (restored)",
     "{0} ({1})"),
    (re.compile(r"^cell (\S+) changed from (\w+) to (\w+)$"),
     "cells retyped (restored)", "{0} ({1} -> {2})"),
    (re.compile(r"^cell (\S+) duplicated \((\d+) copies\)$"), "cells duplicated", "{0} x{1}"),
    (re.compile(r"^(\S+) earned points without its receipt.*$"),
     "tests that passed without printing their receipt, so they did not run as written "
     "(set to 0)", "{0}"),
    (re.compile(r"^copied library code: (\S+)$"),
     "the library's own code copied into the answer (those tests 0; review by hand)", "{0}"),
    (re.compile(r"^grading tampered: (\S+)$"),
     "the grader's watch switched off by the notebook's code (those tests 0; review by hand)",
     "{0}"),
    (re.compile(r"^forbidden at run time: (\S+)$"),
     "a forbidden routine called through a name built at run time (those tests 0)", "{0}"),
    (re.compile(r"^helpers modified: (\S+)$"),
     "grading helpers (numpy, builtins, hessian_lab) modified by the notebook's code "
     "(those tests fail)", "{0}"),
]


def group_flags(flags: list[str]) -> list[str]:
    """One line per cause, in the order the causes first appear."""
    grouped: dict[str, list[str]] = {}
    order: list[str] = []
    for flag in flags:
        for pattern, title, detail in _GROUPS:
            match = pattern.match(flag)
            if match:
                if title not in grouped:
                    grouped[title] = []
                    order.append(title)
                item = detail.format(*match.groups())
                if item not in grouped[title]:
                    grouped[title].append(item)
                break
        else:
            if flag not in order:
                order.append(flag)
    return [f"{key}: {', '.join(grouped[key])}" if key in grouped else key for key in order]


def review_flags(outputs: dict[str, str]) -> list[str]:
    """Flags from what the checks printed in the (autograded) test cells."""
    flags = []
    for grade_id, text in outputs.items():
        if "[review: copied library code]" in text:
            flags.append(f"copied library code: {grade_id}")
        if "[review: grading tampered]" in text:
            flags.append(f"grading tampered: {grade_id}")
        if "[review: grader error]" in text:
            flags.append(f"a check failed by itself (grader bug): {grade_id}")
        if "grading helpers were modified" in text:
            flags.append(f"helpers modified: {grade_id}")
        if "while it ran, which this part does not allow" in text:
            flags.append(f"forbidden at run time: {grade_id}")
    return flags


def timeout_flags(notebook: Path, limit) -> list[str]:
    """A flag for every cell that nbgrader interrupted at its time limit."""
    flags = []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if any(out.get("output_type") == "error" and out.get("ename") == "CellTimeoutError"
               for out in cell.get("outputs", []) or []):
            grade_id = ((cell.get("metadata") or {}).get("nbgrader") or {}).get("grade_id")
            source = "".join(cell.get("source", "")).strip().splitlines() or [""]
            label = f"cell {grade_id}" if grade_id else f"the cell starting `{source[0][:50]}`"
            flags.append(f"{label} ran past the {limit} s limit and was interrupted (what it "
                         "defines after that point is missing; the rest was graded)")
    return flags


_SUSPICIOUS = [
    ("reaches for files outside its own folder",
     re.compile(r"""(open|Path|connect|listdir|scandir|walk|remove|unlink|rmtree|rename|glob)\s*\(\s*[rfb]?["'](/|\.\./)|\.\./\.\.|sqlite3|gradebook""")),
    ("starts processes", re.compile(r"\b(subprocess|multiprocessing|os\.fork|os\.system|"
                                     r"os\.popen|os\.spawn|os\.exec|pty\.|daemon|setsid)")),
    ("reads the environment", re.compile(r"os\.environ|getenv|/proc/self/environ|/proc/\d")),
    ("opens network connections", re.compile(r"\b(socket|urllib|requests|http\.client|"
                                              r"ftplib|smtplib)\b")),
    ("changes resource limits", re.compile(r"\bresource\.setrlimit|\bprlimit")),
    ("builds names or code at run time", re.compile(
        r"\bimportlib\b|__import__|sys\.modules|inspect\.getsource|\bexec\s*\(|\beval\s*\(|"
        r"\bcompile\s*\(|getattr\s*\(\s*\w+\s*,\s*[^\"')]*\+")),
    ("touches the grading machinery", re.compile(
        r"hessian_lab\.grading|_STATE|receipt|setprofile|settrace|\bctypes\b|\bgc\.")),
]


def suspicious_code(nb: dict) -> list[str]:
    """Causes for review found in the student's own code cells (not the locked ones).

    A static reading, for the instructor's eyes only: it changes no score. What the code
    could achieve is limited by the sandbox, whatever it says.
    """
    found: dict[str, list[str]] = {}
    for index, cell in enumerate(nb.get("cells", [])):
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if cell.get("cell_type") != "code" or meta.get("locked"):
            continue
        source = "".join(cell.get("source", "")) if isinstance(cell.get("source"), list) \
            else str(cell.get("source", ""))
        label = meta.get("grade_id") or f"cell {index + 1}"
        for cause, pattern in _SUSPICIOUS:
            if pattern.search(source):
                found.setdefault(cause, []).append(label)
    if not found:
        return []
    return ["code to review (static reading; no score changed): " + "; ".join(
        f"{cause} ({', '.join(labels)})" for cause, labels in found.items())]


# --------------------------------------------------------------------------- feedback pages

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _private_paths() -> list[str]:
    here = Path(__file__).resolve()
    # the checkout (or site-packages), the package, the course the round was started in
    paths = {str(here.parents[2]), str(here.parents[1]), str(Path.cwd()), sys.prefix,
             sys.base_prefix, str(Path(sys.prefix).resolve()),
             str(Path(sys.base_prefix).resolve()), str(Path.home())}
    return sorted((p for p in paths if p and p != "/"), key=len, reverse=True)


def _hide_paths(text: str, paths) -> str:
    for path in paths:
        text = text.replace(path, "<grader>")
    return text


_A = r"(?:\x1b\[[0-9;]*m)*"
_RECEIPT_ARG = re.compile(rf",\s*{_A}_receipt{_A}={_A}\"[0-9a-f]+\"{_A}")
_SEED_LINE = re.compile(r"^.*_use_seed.*(\n|$)", re.M)


def _hide_secrets(text: str) -> str:
    """The round's receipt keys and hidden seeds out of a cell's source or traceback."""
    return _SEED_LINE.sub("", _RECEIPT_ARG.sub("", text))


_RECEIPT_SHOWN = re.compile(r" ?\[receipt [a-z0-9_]+:[0-9a-f]{16}\]")


def strip_receipts(text: str) -> str:
    """A test's output without its receipt (``[receipt id:hex]``), for reports outside the
    feedback pages.

    >>> strip_receipts("passed: newton_step, shape [receipt newton_step_shape:0123456789abcdef]")
    'passed: newton_step, shape'
    """
    return _RECEIPT_SHOWN.sub("", text)


def clean_outputs(notebook: Path) -> None:
    """What the feedback page shows: tracebacks keep the student's own frames and the error;
    no grader paths anywhere; the test cells without the round's keys and seeds."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    paths = _private_paths()
    changed = False
    for cell in nb["cells"]:
        source = "".join(cell.get("source", ""))
        if "_receipt=" in source or "_use_seed" in source:
            cell["source"], changed = _hide_secrets(source), True
        for out in cell.get("outputs", []) or []:
            if out.get("output_type") == "error":
                frames = out.get("traceback", [])
                kept = [frame for i, frame in enumerate(frames)
                        if i == 0 or i == len(frames) - 1
                        or not any(p in _ANSI.sub("", frame) for p in paths)]
                kept = [_hide_secrets(_hide_paths(frame, paths)) for frame in kept]
                if kept != frames:
                    out["traceback"], changed = kept, True
            elif out.get("output_type") == "stream":
                text = "".join(out.get("text", ""))
                hidden = _hide_paths(text, paths)
                if hidden != text:
                    out["text"], changed = hidden, True
    if changed:
        notebook.write_text(json.dumps(nb, indent=1), encoding="utf-8")


# --------------------------------------------------------------------------- logs

ROUTINE = [
    (re.compile(r"Checksum for grade cell .* has changed|Attribute 'checksum' for cell .* has "
                r"changed"),
     "restored test cells have a new checksum (they carry the round's keys)"),
    (re.compile(r"Attribute 'allow_errors'|allow_errors"), "allow_errors is set by the config"),
    (re.compile(r"When using the `ipython kernel` entry point|To exit, you will have to "
                r"explicitly quit|\"quit\" from a client, or using Ctrl|To read more about "
                r"this, see https://github.com/ipython/ipython/issues/2049|To connect another "
                r"client to this kernel|--existing .*\.json"),
     "ipykernel's start-up notice"),
]


def filter_log(log: str, counts: dict[str, int]) -> str:
    """The log without nbgrader's and ipykernel's routine lines (counted in ``counts``)."""
    kept = []
    for line in log.splitlines():
        for pattern, what in ROUTINE:
            if pattern.search(line):
                counts[what] = counts.get(what, 0) + 1
                break
        else:
            if line.strip() or (kept and kept[-1].strip()):
                kept.append(line)
    return "\n".join(kept) + "\n"
