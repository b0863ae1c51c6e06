"""Debian's TeX Live for the PDF edition: find it, or install it with apt-get (as root).

``make pdf`` runs this file first; the test session's ``pdf_build`` fixture calls
:func:`install` when :func:`missing` names a tool. The
packages are the smallest set that builds the book (about 165 MB to download, 480 MB
installed, a minute or two): XeLaTeX with latexmk, the LaTeX packages Sphinx and
sphinx-jupyterbook-latex load, FreeFont for Unicode text, TeX Gyre, Greek hyphenation, and
poppler-utils (pdftotext, pdftoppm) for the tests.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from apt import apt_install  # noqa: E402

TEXLIVE_PACKAGES = ["latexmk", "texlive-latex-recommended", "texlive-latex-extra",
                    "texlive-fonts-recommended", "texlive-xetex", "fonts-freefont-otf",
                    "texlive-lang-greek", "tex-gyre", "poppler-utils"]
NEEDED = ["xelatex", "latexmk", "pdftotext", "pdftoppm"]
APT = "apt-get install --no-install-recommends " + " ".join(TEXLIVE_PACKAGES)


def missing() -> list[str]:
    return [tool for tool in NEEDED if shutil.which(tool) is None]


def install() -> str | None:
    """Install the packages with apt-get; return None, or why it could not be done."""
    if not (os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get")):
        return f"{', '.join(missing())} not found; as root, run: {APT}"
    print(f"[texlive] {', '.join(missing())} missing: installing with apt-get "
          f"({len(TEXLIVE_PACKAGES)} packages, about 165 MB)", flush=True)
    proc = apt_install(TEXLIVE_PACKAGES, recommends=False, done=lambda: not missing())
    if proc.returncode != 0 or missing():
        return f"apt-get could not install TeX Live: {proc.stderr[-800:]}"
    return None


if __name__ == "__main__":
    if missing() and (why := install()) is not None:
        print(f"make pdf needs TeX Live: {why}", file=sys.stderr)
        sys.exit(1)
