"""The project outside this venv: the lock on another Python, and the wheel a student installs.

`make test` runs in the venv of whichever python3 built it. These tests prove the other
supported versions on the same machine: a second venv from another interpreter found on PATH or
under pyenv (3.11 or newer, another minor version) installs the universal lock, passes the
library's unit tests and doctests and executes a chapter; and `python -m build` makes a wheel
and an sdist whose wheel installs with plain pip into clean venvs. Without another interpreter
they skip with the reason (fail under CI).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import BIN, ROOT, skip_or_fail

pytestmark = pytest.mark.slow

OLDEST = (3, 11)
LIBRARY_TESTS = ["test_curvature.py", "test_derivatives.py", "test_linesearch.py",
                 "test_models.py", "test_optimizers.py", "test_problems.py", "test_rates.py",
                 "test_spectra.py"]
CHAPTER = "book/01_one_variable.ipynb"
# What `import hessian_lab` may load of the heavy dependencies: numpy alone.
HEAVY = ("numpy", "sympy", "scipy", "matplotlib", "ipywidgets", "IPython")
PROBE_IMPORTS = (f"import sys, hessian_lab; print(' '.join(m for m in {HEAVY!r} "
                 "if m in sys.modules))")


def _version(python: str) -> tuple[int, int, int] | None:
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:3])"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = out.stdout.split()
    return tuple(int(p) for p in parts) if out.returncode == 0 and len(parts) == 3 else None


def _candidates() -> list[str]:
    """Interpreters on PATH (python3.11 ... python3.14), Debian's, and pyenv's installs."""
    found = [shutil.which(f"python3.{minor}") for minor in range(11, 15)]
    found += ["/usr/bin/python3", "/usr/local/bin/python3"]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found += sorted(str(p) for p in pyenv_root.glob("versions/*/bin/python3"))
    return [p for p in dict.fromkeys(found) if p and Path(p).exists() and "shims" not in p]


def supported_interpreters() -> dict[tuple[int, int, int], str]:
    """Every supported interpreter found, by version (one path per version)."""
    versions: dict[tuple[int, int, int], str] = {}
    for python in _candidates():
        version = _version(python)
        if version and version[:2] >= OLDEST:
            versions.setdefault(version, python)
    return dict(sorted(versions.items()))


@pytest.fixture(scope="module")
def other_python() -> str:
    """The newest supported interpreter of another minor version than this venv's."""
    found = supported_interpreters()
    print("[python-versions] this venv: " + sys.version.split()[0] + "; found: "
          + ", ".join(f"{'.'.join(map(str, v))} ({p})" for v, p in found.items()))
    others = [p for v, p in found.items() if v[:2] != sys.version_info[:2]]
    if not others:
        skip_or_fail("no other supported Python (3.11 or newer, another minor version than "
                     f"{sys.version.split()[0]}) on PATH or under pyenv")
    print(f"[python-versions] testing with {others[-1]}")
    return others[-1]


def _run(cmd: list[str], timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{(proc.stdout + proc.stderr)[-4000:]}"
    return proc


def _venv(python: str, where: Path) -> Path:
    _run([python, "-m", "venv", str(where)], timeout=120)
    return where / "bin" / "python"


def _install_lock(venv_python: Path) -> None:
    """The lock as `make` installs it: with uv when this venv has it, else with pip."""
    if (BIN / "uv").exists():
        cmd = [str(BIN / "uv"), "pip", "install", "--quiet", "--python", str(venv_python)]
    else:
        cmd = [str(venv_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run(cmd + ["-r", "requirements.txt"], cwd=ROOT, timeout=1200)


EXECUTE_CHAPTER = """
import sys, nbformat, nbclient
nb = nbformat.read(sys.argv[1], as_version=4)
nb.cells.append(nbformat.v4.new_code_cell("import sys; print('kernel', *sys.version_info[:2])"))
nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                        resources={"metadata": {"path": "book"}}).execute()
outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
stderr = [o.text for o in outputs if o.get("name") == "stderr"]
assert not stderr, stderr
print(outputs[-1].text.strip())
"""


def test_the_lock_installs_and_the_library_and_a_chapter_run_on_another_python(
        other_python, tmp_path):
    python = _venv(other_python, tmp_path / "venv")
    _install_lock(python)
    version = _version(str(python))
    # The library's unit tests and the package's doctests, from this checkout.
    tests = [str(ROOT / "tests" / name) for name in LIBRARY_TESTS]
    proc = _run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow",
                 "--doctest-modules", str(ROOT / "hessian_lab"), *tests], cwd=ROOT, timeout=900)
    summary = proc.stdout.strip().splitlines()[-1]
    print(f"[python-versions] {'.'.join(map(str, version))}: {summary}")
    # One chapter, executed by a kernel of that Python.
    proc = _run([str(python), "-c", EXECUTE_CHAPTER, CHAPTER], cwd=ROOT, timeout=600)
    assert proc.stdout.split()[-3:] == ["kernel", str(version[0]), str(version[1])], proc.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """`python -m build`: the sdist, then the wheel built from the sdist."""
    out = tmp_path_factory.mktemp("dist")
    cmd = [sys.executable, "-m", "build", "--outdir", str(out)]
    if (BIN / "uv").exists():
        cmd += ["--installer", "uv"]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    _run(cmd + [str(ROOT)], env=env, timeout=600)
    return out


def test_build_makes_a_wheel_and_an_sdist_with_the_whole_package(dist):
    (wheel,) = dist.glob("hessian_lab-*-py3-none-any.whl")
    (sdist,) = dist.glob("hessian_lab-*.tar.gz")
    modules = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "hessian_lab").rglob("*.py"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert set(modules) <= names, sorted(set(modules) - names)
    assert not [n for n in names if n.startswith(("tests/", "tools/", "book/", "solutions/"))]
    assert "Requires-Python: >=3.11" in metadata
    for dependency in ("numpy", "sympy", "matplotlib", "ipywidgets", "ipympl"):
        assert re.search(rf"^Requires-Dist: {dependency}\b", metadata, re.M), dependency
    with tarfile.open(sdist) as tf:
        top = tf.getnames()[0].split("/")[0]
        inside = {n.removeprefix(top + "/") for n in tf.getnames()}
    assert {"pyproject.toml", "README.md", "LICENSE"} <= inside
    assert set(modules) <= inside, sorted(set(modules) - inside)


@pytest.mark.parametrize("which", ["this", "other"])
def test_the_wheel_installs_with_pip_in_a_clean_venv_and_imports_only_numpy(
        which, dist, tmp_path, request):
    """What a student without the repository does: `pip install hessian_lab-*.whl`."""
    if which == "this":  # the interpreter this venv was made from
        python = getattr(sys, "_base_executable", sys.executable)
    else:
        python = request.getfixturevalue("other_python")
    venv_python = _venv(python, tmp_path / "venv")
    (wheel,) = dist.glob("*.whl")
    _run([str(venv_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          str(wheel)], timeout=900)
    outside = {"cwd": tmp_path}  # not the checkout: the installed package must be imported
    where = _run([str(venv_python), "-c", "import hessian_lab; print(hessian_lab.__file__)"],
                 **outside).stdout.strip()
    assert where.startswith(str(tmp_path / "venv")), where
    loaded = _run([str(venv_python), "-c", PROBE_IMPORTS], **outside).stdout.split()
    assert loaded == ["numpy"], f"`import hessian_lab` loaded {loaded}; only numpy belongs there"
    smoke = ("import numpy as np, hessian_lab as hl, hessian_lab.grading;"
             "print(hl.classify(np.array([[2.0, 0.0], [0.0, -1.0]])).kind)")
    assert _run([str(venv_python), "-c", smoke], **outside).stdout.strip() == "saddle"
    # the demos are the extra hessian_lab[demos]: without it, the error says what to install
    if which == "other":  # the extra's metadata does not depend on the interpreter
        return
    missing = subprocess.run([str(venv_python), "-c", "import hessian_lab.demos"],
                             capture_output=True, text=True, **outside)
    assert missing.returncode != 0 and "pip install 'hessian_lab[demos]'" in missing.stderr
    _run([str(venv_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          f"{wheel}[demos]"], timeout=900)
    demo = "import hessian_lab.demos as d; print(type(d.hessian_explorer).__name__)"
    assert _run([str(venv_python), "-c", demo], **outside).stdout.strip() == "function"
