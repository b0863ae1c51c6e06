"""The reading edition: the book's notebooks as they should read in JupyterLab and JupyterLite.

The chapters are written in MyST for the site: roles such as ``{glue:text}`key:.1f```,
``{ref}`label```, ``{term}`Hessian```, ``{eq}`eq-kappa```, directives such as ``:::{exercise}``
and labels such as ``(ch-newton)=``. Plain JupyterLab shows all of that as source, and
jupyterlab-myst renders only part of it (no ``{glue:md}``, glue keys shown as bare words).

Rather than keep a second copy of the prose, every html build writes the reading edition from the
same sources, at the end of the build, with what the build itself resolved: the glued values it
computed and checked (``jupyter_execute/*.glue.json``, formatted with myst-nb's own function),
the chapter, equation, figure, theorem and exercise numbers of Sphinx's environment, the titles of
labels, the glossary's anchors and the bibliography's labels. The result is CommonMark with a
little HTML and LaTeX, which JupyterLab 4 renders without any extension:

- glued numbers are substituted; cross-references, glossary terms and citations are links
  between the notebooks (``08_newton.ipynb#ch-newton``, ``glossary.ipynb#term-hessian``);
- labelled equations keep the site's numbers (``\\tag{10.1}``) and anchors;
- admonitions, theorems, definitions and exercises are JupyterLab's ``alert`` boxes, proofs end
  with a square, and a self-check's solution is a ``<details>`` block, folded until clicked;
- ``literalinclude`` becomes the included code, read exactly as Sphinx reads it;
- code cells keep their code and the build's outputs; the cells that exist only to check the
  prose (tagged ``remove-cell``) and folded figure code (``hide-input``) are collapsed
  (``source_hidden``) but still run, so a student's kernel computes the same numbers;
- a live demo's output keeps its printed form (a PNG of several settings): running the cell
  brings the live widget.

Anything the converter does not know (a new role or directive) fails the build with a message
naming the page and the construct, so the reading edition can never silently show source. The
edition is written to ``_build/lab/`` (``book/`` plus ``START_HERE.ipynb``); ``make lab`` copies
it into the student's workspace without overwriting their edits (``hessian_lab.workspace``).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

#: Where the reading edition goes, relative to the html output's parent (``_build``).
LAB_DIR = "lab"

#: Site pages that have no reading form (autodoc output): references to them become plain text.
NOT_CONVERTED = {"book/api"}

ROLE = re.compile(r"\{(?P<name>[a-z][a-z0-9:\-]*)\}`(?P<body>[^`]+)`"
                  r"|(?P<code>(?P<ticks>`+)[^`].*?(?P=ticks))", re.S)
LABEL_LINE = re.compile(r"^\((?P<label>[^)\s]+)\)=\s*$")
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>:{3,}|`{3,}|~{3,})(?P<rest>.*)$")
DIRECTIVE = re.compile(r"^\{(?P<name>[^}]+)\}\s*(?P<arg>.*)$")
OPTION = re.compile(r"^:(?P<key>[a-zA-Z][\w-]*):(?:\s+(?P<value>.*))?$")
EQ_CLOSE = re.compile(r"^(?P<body>.*?)\$\$\s*\((?P<label>[^)\s]+)\)\s*$")
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)

ADMONITIONS = {"note": ("info", "Note"), "important": ("warning", "Important"),
               "warning": ("danger", "Warning"), "tip": ("success", "Tip"),
               "hint": ("success", "Hint"), "caution": ("warning", "Caution"),
               "attention": ("warning", "Attention"), "danger": ("danger", "Danger"),
               "error": ("danger", "Error"), "seealso": ("info", "See also")}
PROOF_KINDS = {"prf:theorem": "Theorem", "prf:definition": "Definition", "prf:lemma": "Lemma",
               "prf:proposition": "Proposition", "prf:corollary": "Corollary",
               "prf:example": "Example", "prf:remark": "Remark"}


class ConversionError(ValueError):
    """A construct the reading edition cannot render: names the page and the construct."""


@dataclass
class Target:
    docname: str
    anchor: str
    text: str = ""


@dataclass
class Resolver:
    """Everything a page's conversion looks up, taken from the build's environment."""

    titles: dict = field(default_factory=dict)      # docname -> title
    labels: dict = field(default_factory=dict)      # label -> Target (text = section title)
    terms: dict = field(default_factory=dict)       # term (lower case) -> Target
    equations: dict = field(default_factory=dict)   # label -> Target (text = "10.1")
    numbered: dict = field(default_factory=dict)    # docname -> kind -> [(id, "10.1"), ...]
    objects: dict = field(default_factory=dict)     # prf/exercise label -> (docname, kind)
    citations: dict = field(default_factory=dict)   # key -> (label, text, authors)
    glue: dict = field(default_factory=dict)        # docname -> {key: output}
    numfig_format: dict = field(default_factory=lambda: {"figure": "Fig. %s"})
    read_include: object = None                     # (path, options) -> text

    def number(self, docname: str, kind: str, ident: str | None, ordinal: int) -> str:
        entries = self.numbered.get(docname, {}).get(kind, [])
        if ident is not None:
            for key, num in entries:
                if key == ident:
                    return num
        ordered = sorted(entries, key=lambda e: [int(p) for p in e[1].split(".")])
        if ordinal < len(ordered):
            return ordered[ordinal][1]
        raise ConversionError(f"no number for {kind} {ident or ordinal + 1} in {docname}")


def href(from_doc: str, target: Target, resolver: Resolver) -> str:
    """A link from one reading notebook to a target (all notebooks sit in one folder)."""
    if target.docname in NOT_CONVERTED:
        return ""
    anchor = f"#{target.anchor}" if target.anchor else ""
    if target.docname == from_doc:
        return anchor or "#"
    return f"{Path(target.docname).name}.ipynb{anchor}"


def _link(text: str, url: str) -> str:
    if not url:
        return text
    text = text.replace("[", r"\[").replace("]", r"\]")
    return f"[{text}]({url})"


class PageConverter:
    """Converts one page's MyST markdown into the reading edition's CommonMark."""

    def __init__(self, docname: str, resolver: Resolver, source_dir: Path):
        self.docname = docname
        self.resolver = resolver
        self.source_dir = source_dir
        self.counters: dict[str, int] = {}

    # -- errors ------------------------------------------------------------------------
    def fail(self, what: str) -> None:
        raise ConversionError(f"{self.docname}: {what}")

    # -- inline ------------------------------------------------------------------------
    def inline(self, text: str) -> str:
        def replace(match: re.Match) -> str:
            if match.group("code") is not None:
                return match.group("code")
            return self.role(match.group("name"), match.group("body"))
        return ROLE.sub(replace, text)

    def _explicit(self, body: str) -> tuple[str | None, str]:
        match = EXPLICIT.match(body)
        if match and match.group("text"):
            return match.group("text"), match.group("target").strip()
        return None, body.strip()

    def glue_output(self, key: str) -> dict:
        docname = self.docname
        if "::" in key:
            path, key = key.split("::", 1)
            docname = str((Path(self.docname).parent / path).with_suffix("")).replace("\\", "/")
        outputs = self.resolver.glue.get(docname, {})
        if key not in outputs:
            self.fail(f"glue key {key!r} is not in the build's glue data of {docname}")
        return outputs[key]

    def role(self, name: str, body: str) -> str:
        r = self.resolver
        if name in ("glue", "glue:text", "glue:md"):
            key, _, fmt = body.rpartition(":") if ":" in body.replace("::", "") else (body, "", "")
            if name != "glue:text" and fmt not in ("", "myst", "commonmark"):
                key, fmt = body, ""
            if not key:
                key, fmt = body, ""
            data = self.glue_output(key).get("data", {})
            if name == "glue:md":
                if "text/markdown" not in data:
                    self.fail(f"glue key {key!r} has no text/markdown")
                return self.inline(data["text/markdown"].strip())
            if "text/plain" not in data:
                self.fail(f"glue key {key!r} has no text/plain")
            from myst_nb.core.variables import format_plain_text
            return format_plain_text(data["text/plain"], fmt) if fmt else data["text/plain"]
        if name == "ref":
            text, label = self._explicit(body)
            target = r.labels.get(label.lower()) or r.labels.get(label)
            if target is None:
                self.fail(f"{{ref}} to unknown label {label!r}")
            if not (text or target.text):
                self.fail(f"{{ref}} to {label!r} needs a text (the label has no title)")
            return _link(self.inline(text or target.text), href(self.docname, target, r))
        if name == "numref":
            text, label = self._explicit(body)
            for docname, kinds in r.numbered.items():
                for kind, entries in kinds.items():
                    for ident, num in entries:
                        if ident == label:
                            fmt = text or r.numfig_format.get(kind, "%s")
                            shown = fmt.replace("{number}", num).replace("%s", num)
                            return _link(shown, href(self.docname, Target(docname, label), r))
            self.fail(f"{{numref}} to unnumbered label {label!r}")
        if name == "eq":
            target = r.equations.get(body.strip())
            if target is None:
                self.fail(f"{{eq}} to unknown equation {body!r}")
            return _link(f"({target.text})", href(self.docname, target, r))
        if name == "term":
            text, term = self._explicit(body)
            target = r.terms.get(term.lower())
            if target is None:
                self.fail(f"{{term}} {term!r} is not in the glossary")
            return _link(text or term, href(self.docname, target, r))
        if name in ("cite", "cite:p", "cite:t"):
            parts = []
            for key in (k.strip() for k in body.split(",")):
                if key not in r.citations:
                    self.fail(f"{{cite}} to unknown key {key!r}")
                label, _, authors = r.citations[key]
                url = href(self.docname, Target("book/bibliography", f"cite-{key}"), r)
                link = _link(label, url)
                parts.append(f"{authors} \\[{link}\\]" if name == "cite:t" else link)
            return ", ".join(parts) if name == "cite:t" else "\\[" + ", ".join(parts) + "\\]"
        if name == "prf:ref":
            text, label = self._explicit(body)
            if label not in r.objects:
                self.fail(f"{{prf:ref}} to unknown label {label!r}")
            docname, kind = r.objects[label]
            num = r.number(docname, kind.split(":")[-1], label, 10**9)
            shown = text or f"{PROOF_KINDS.get(kind, kind.split(':')[-1].title())} {num}"
            return _link(shown, href(self.docname, Target(docname, label), r))
        if name == "doc":
            text, path = self._explicit(body)
            docname = str(Path(self.docname).parent / path).replace("\\", "/")
            docname = re.sub(r"^book/\.\./", "", docname)
            if docname not in r.titles:
                self.fail(f"{{doc}} to unknown page {path!r}")
            return _link(text or r.titles[docname], href(self.docname, Target(docname, ""), r))
        if name == "download":
            text, path = self._explicit(body)
            return _link(text or Path(path).name, path)
        if name.startswith("py:"):
            text, target = self._explicit(body)
            shown = text or (target[1:].rsplit(".", 1)[-1] if target.startswith("~") else target)
            if name in ("py:func", "py:meth") and not text:
                shown += "()"
            return f"`{shown}`"
        if name == "math":
            return f"${body}$"
        self.fail(f"unknown role {{{name}}}")
        return ""

    def caption_cell(self, figure: dict):
        """A figure's caption as the site prints it ("Fig. 10.2. ..."), with its anchor."""
        name = figure.get("name")
        number = self.resolver.number(self.docname, "figure", name, self._count("figure"))
        shown = self.resolver.numfig_format.get("figure", "Fig. %s").replace("%s", number)
        anchor = f'<a id="{name}"></a>' if name else ""
        text = self.inline(" ".join(str(figure.get("caption", "")).split()))
        cell = nbformat.v4.new_markdown_cell(f"{anchor}*{shown}.* {text}".rstrip())
        cell.metadata["curvature_lab"] = {"caption_of": name or ""}
        return cell

    # -- blocks ------------------------------------------------------------------------
    def convert(self, text: str) -> str:
        lines = text.split("\n")
        out = self.blocks(lines)
        return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")

    def blocks(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        pending_anchor: list[str] = []
        i = 0
        while i < len(lines):
            line = lines[i]
            label = LABEL_LINE.match(line.strip())
            if label:
                name = label.group("label")
                target = self.resolver.labels.get(name.lower()) or self.resolver.labels.get(name)
                pending_anchor.append(f'<a id="{target.anchor if target else name}"></a>')
                i += 1
                continue
            fence = FENCE.match(line)
            if fence:
                block, i = self._fenced(lines, i, fence)
                if pending_anchor:
                    out.append("".join(pending_anchor))
                    pending_anchor = []
                out.extend(block)
                continue
            if line.strip().startswith("$$"):
                block, i = self._display_math(lines, i)
                if pending_anchor:
                    out.append("".join(pending_anchor))
                    pending_anchor = []
                out.extend(block)
                continue
            if pending_anchor and line.strip():
                stripped = line.lstrip()
                indent = line[: len(line) - len(stripped)]
                heading = re.match(r"^(#{1,6}\s+)(.*)$", stripped)
                if heading:
                    line = indent + heading.group(1) + "".join(pending_anchor) + heading.group(2)
                elif stripped.startswith(("|", "* ", "- ", "1. ")):
                    out.append(indent + "".join(pending_anchor))
                    out.append("")
                else:
                    line = indent + "".join(pending_anchor) + stripped
                pending_anchor = []
            # a paragraph: collect lines up to a blank line or a block start, then inline
            para = [line]
            i += 1
            while i < len(lines) and lines[i].strip() and not (
                    FENCE.match(lines[i]) or LABEL_LINE.match(lines[i].strip())
                    or lines[i].strip().startswith("$$")):
                para.append(lines[i])
                i += 1
            out.extend(self.inline("\n".join(para)).split("\n"))
        if pending_anchor:
            out.append("".join(pending_anchor))
        return out

    def _display_math(self, lines: list[str], i: int) -> tuple[list[str], int]:
        start = i
        first = lines[i].strip()[2:]
        body: list[str] = []
        label = None
        # one line: $$ x $$ (label)  or  $$ x $$
        one = re.match(r"^(?P<m>.*?)\$\$\s*(?:\((?P<label>[^)\s]+)\))?\s*$", first)
        if one and first.rstrip().endswith(("$$",)) or (one and one.group("label")):
            body = [one.group("m")]
            label = one.group("label")
            i += 1
        else:
            if first.strip():
                body.append(first)
            i += 1
            while i < len(lines):
                close = EQ_CLOSE.match(lines[i])
                if close:
                    if close.group("body").strip():
                        body.append(close.group("body"))
                    label = close.group("label")
                    i += 1
                    break
                if lines[i].strip().endswith("$$"):
                    rest = lines[i].rstrip()[:-2]
                    if rest.strip():
                        body.append(rest)
                    i += 1
                    break
                body.append(lines[i])
                i += 1
            else:
                self.fail(f"display maths opened at line {start + 1} is never closed")
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        out = []
        if label:
            target = self.resolver.equations.get(label)
            if target is None:
                self.fail(f"equation label {label!r} has no number in the build")
            out.append(f'{indent}<a id="{target.anchor}"></a>')
            out.append("")
            body.append(f"\\tag{{{target.text}}}")
        out.append(f"{indent}$$")
        out.extend(body)
        out.append(f"{indent}$$")
        return out, i

    def _fenced(self, lines: list[str], i: int, fence: re.Match) -> tuple[list[str], int]:
        indent, mark, rest = fence.group("indent"), fence.group("fence"), fence.group("rest")
        char, width = mark[0], len(mark)
        j = i + 1
        while j < len(lines):
            s = lines[j].strip()
            if s and set(s) == {char} and len(s) >= width:
                break
            j += 1
        else:
            self.fail(f"the fence opened at line {i + 1} ({lines[i].strip()!r}) is never "
                      "closed")
        inner = [ln[len(indent):] if ln.startswith(indent) else ln.lstrip()
                 for ln in lines[i + 1:j]]
        directive = DIRECTIVE.match(rest.strip())
        if not directive:                   # a code block: verbatim
            return lines[i:j + 1], j + 1
        name, arg = directive.group("name").strip(), directive.group("arg").strip()
        options: dict[str, str] = {}
        k = 0
        while k < len(inner) and OPTION.match(inner[k].strip()):
            opt = OPTION.match(inner[k].strip())
            options[opt.group("key")] = (opt.group("value") or "").strip()
            k += 1
        body = inner[k:]
        block = self.directive(name, arg, options, body)
        return [indent + ln if ln else ln for ln in block], j + 1

    def _count(self, kind: str) -> int:
        n = self.counters.get(kind, 0)
        self.counters[kind] = n + 1
        return n

    def _box(self, cls: str, title: str, body: list[str], anchor: str = "",
             subtitle: str = "") -> list[str]:
        head = f'<a id="{anchor}"></a>' if anchor else ""
        tail = f" ({subtitle})" if subtitle else ""
        return ["", f'<div class="alert alert-block alert-{cls}">', "",
                f"{head}**{title}**{tail}", "", *self.blocks(body), "", "</div>", ""]

    def directive(self, name: str, arg: str, options: dict, body: list[str]) -> list[str]:
        r = self.resolver
        if name in ADMONITIONS:
            cls, title = ADMONITIONS[name]
            return self._box(cls, title if not arg else self.inline(arg), body)
        if name == "admonition":
            return self._box(options.get("class", "info").split()[0]
                             if options.get("class") in ("info", "warning", "success", "danger")
                             else "info", self.inline(arg) or "Note", body)
        if name in PROOF_KINDS:
            label = options.get("label")
            num = r.number(self.docname, name.split(":")[1], label, self._count(name))
            return self._box("info", f"{PROOF_KINDS[name]} {num}", body, label or "",
                             self.inline(arg) if arg else "")
        if name == "prf:proof":
            converted = self.blocks(body)
            while converted and not converted[-1].strip():
                converted.pop()
            if converted:
                converted[-1] += " $\\square$"
            return ["", "*Proof.*", "", *converted, ""]
        if name == "exercise":
            label = options.get("label")
            num = r.number(self.docname, "exercise", label, self._count("exercise"))
            return self._box("success", f"Exercise {num}", body, label or "",
                             self.inline(arg) if arg else "")
        if name == "solution":
            target = arg.strip()
            if target not in r.objects:
                self.fail(f"solution to unknown exercise {target!r}")
            docname, kind = r.objects[target]
            num = r.number(docname, "exercise", target, 10**9)
            return ["", "<details>", f"<summary>Solution to Exercise {num}</summary>", "",
                    *self.blocks(body), "", "</details>", ""]
        if name == "literalinclude":
            if r.read_include is None:
                self.fail("literalinclude needs the build's configuration")
            path = (self.source_dir / arg).resolve()
            text = r.read_include(path, options)
            language = options.get("language", "python")
            return ["", f"```{language}", *text.rstrip("\n").split("\n"), "```", ""]
        if name == "glue:md":
            data = self.glue_output(arg).get("data", {})
            if "text/markdown" not in data:
                self.fail(f"glue key {arg!r} has no text/markdown")
            return ["", *self.blocks(data["text/markdown"].strip().split("\n")), ""]
        if name == "list-table":
            return self._list_table(options, body)
        if name == "glossary":
            return self._glossary(body)
        if name == "bibliography":
            rows = []
            for key, (label, text, _) in sorted(r.citations.items(), key=lambda kv: kv[1][0]):
                rows += [f'<a id="cite-{key}"></a>**\\[{label}\\]** {text}', ""]
            return ["", *rows]
        self.fail(f"unknown directive {{{name}}}")
        return []

    def _list_table(self, options: dict, body: list[str]) -> list[str]:
        rows: list[list[list[str]]] = []
        for line in body:
            if line.startswith("* - "):
                rows.append([[line[4:]]])
            elif line.startswith("  - "):
                rows[-1].append([line[4:]])
            elif line.startswith("    ") and rows:
                rows[-1][-1].append(line[4:])
            elif line.strip():
                self.fail(f"list-table line not understood: {line!r}")
        if not rows:
            self.fail("empty list-table")

        def cell(lines: list[str]) -> str:
            text = " ".join(ln.strip() for ln in self.blocks(lines) if ln.strip())
            return text.replace("|", "\\|")
        header = int(options.get("header-rows", "0") or 0)
        width = max(len(row) for row in rows)
        table = [[cell(c) for c in row] + [""] * (width - len(row)) for row in rows]
        head = table[:header] or [[""] * width]
        out = ["", "| " + " | ".join(head[0]) + " |", "|" + "---|" * width]
        out += ["| " + " | ".join(row) + " |" for row in table[header:]]
        return out + [""]

    def _glossary(self, body: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(body):
            line = body[i]
            if line.strip() and not line.startswith((" ", "\t")):
                term = line.strip()
                target = self.resolver.terms.get(term.lower())
                if target is None:
                    self.fail(f"glossary term {term!r} has no anchor in the build")
                definition = []
                i += 1
                while i < len(body) and (not body[i].strip() or body[i].startswith((" ", "\t"))):
                    definition.append(body[i].strip())
                    i += 1
                out += ["", f'<a id="{target.anchor}"></a>**{term}**', "",
                        *self.blocks(definition)]
            else:
                i += 1
        return out + [""]


# -- notebooks -----------------------------------------------------------------------------

def reading_notebook(docname: str, source: Path, resolver: Resolver, executed=None):
    """The reading form of one page: a notebook (a Markdown page becomes one with its sections
    as cells). ``executed`` is the build's executed notebook, whose outputs are kept."""
    converter = PageConverter(docname, resolver, source.parent)
    if source.suffix == ".ipynb":
        nb = nbformat.read(source, as_version=4)
    else:
        text = source.read_text(encoding="utf-8")
        if text.startswith("---\n"):                  # front matter
            text = text.split("\n---\n", 1)[1]
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(part) for part in _sections(text)]
    outputs = {}
    if executed is not None:
        code = [c for c in executed.cells if c.cell_type == "code"]
        outputs = {i: c.get("outputs", []) for i, c in enumerate(code)}
    cells = []
    n_code = 0
    for cell in nb.cells:
        cell = copy.deepcopy(cell)
        if cell.cell_type == "markdown":
            cell.source = converter.convert(cell.source)
            cell.pop("attachments", None)
        elif cell.cell_type == "code":
            tags = set(cell.metadata.get("tags", []))
            jupyter = cell.metadata.setdefault("jupyter", {})
            if tags & {"remove-cell", "remove-input", "hide-input", "hide-cell"}:
                jupyter["source_hidden"] = True
            if tags & {"hide-output", "remove-output"}:
                jupyter["outputs_hidden"] = True
            keep = [] if "remove-cell" in tags else outputs.get(n_code, [])
            cell.outputs = [o for out in keep for o in _reading_output(out)]
            cell.execution_count = None
            n_code += 1
            cells.append(cell)
            figure = cell.metadata.get("mystnb", {}).get("figure")
            if figure:                            # the site's numbered caption, below it
                cells.append(converter.caption_cell(figure))
            continue
        cells.append(cell)
    nb.cells = _stable_ids(cells, {c.get("id") for c in nb.cells if source.suffix == ".ipynb"})
    nb.metadata.pop("mystnb", None)
    if "kernelspec" not in nb.metadata:       # a Markdown page: no kernel prompt when opened
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                     "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["curvature_lab"] = {"reading_edition_of": str(docname)}
    return nb


def _stable_ids(cells: list, kept: set) -> list:
    """Cell ids that are the same at every build: a source cell keeps its own, a made cell (a
    Markdown page's section, a figure's caption) is named by its place. nbformat gives a new
    cell a random id, which would make every build rewrite every notebook, and `make lab` put
    a `NAME.new.ipynb` beside every notebook a student had edited."""
    seen: set = set()
    for i, cell in enumerate(cells):
        if cell.get("id") not in kept or cell.get("id") in seen:
            cell["id"] = f"reading-{i:03d}"
        seen.add(cell["id"])
    return cells


def _sections(text: str) -> list[str]:
    """Split a Markdown page into cells at its second-level headings (outside fences)."""
    parts, current, fence = [], [], None
    for line in text.split("\n"):
        m = FENCE.match(line)
        if m:
            mark = m.group("fence")
            if fence is None:
                fence = mark
            elif set(line.strip()) == {fence[0]} and len(line.strip()) >= len(fence):
                fence = None
        if fence is None and line.startswith("## ") and current and any(x.strip() for x in current):
            # a label line belongs with the heading after it
            carry = []
            while current and LABEL_LINE.match(current[-1].strip()):
                carry.insert(0, current.pop())
            parts.append("\n".join(current))
            current = carry
        current.append(line)
    parts.append("\n".join(current))
    return [p.strip("\n") for p in parts if p.strip()]


LIVE_HINT = ("*The printed form of a live demo (several settings side by side). Run this cell "
             "(Shift+Enter) for the demo itself, with its controls.*")


def _reading_output(output: dict) -> list[dict]:
    """An output as the reading edition keeps it: a live widget keeps only its printed form,
    after a line that says how to get the live one."""
    output = copy.deepcopy(output)
    if "execution_count" in output:
        output["execution_count"] = None
    data = output.get("data")
    if data is None:
        return [output]
    if "application/vnd.jupyter.widget-view+json" in data:
        kept = {k: v for k, v in data.items() if k in ("image/png", "text/plain")}
        if "image/png" not in kept:
            return []
        output["data"] = kept
        output["metadata"] = {k: v for k, v in output.get("metadata", {}).items()
                              if k == "image/png"}
        return [nbformat.v4.new_output("display_data", data={"text/markdown": LIVE_HINT}),
                output]
    data = {k: v for k, v in data.items() if not k.startswith("application/papermill")}
    if not data:
        return []
    output["data"] = data
    return [output]


# -- the Sphinx side -----------------------------------------------------------------------

def resolver_from_build(app) -> Resolver:
    """The environment's numbers, titles and anchors, and the build's glue data."""
    from sphinx.directives.code import LiteralIncludeReader

    env = app.env
    r = Resolver()
    r.numfig_format = dict(app.config.numfig_format)
    r.titles = {doc: env.titles[doc].astext() for doc in env.found_docs if doc in env.titles}
    std = env.domaindata["std"]
    for label, (docname, labelid) in std["anonlabels"].items():
        r.labels[label] = Target(docname, labelid)
    for label, (docname, labelid, sectname) in std["labels"].items():
        r.labels[label] = Target(docname, labelid, str(sectname))
    for (kind, name), (docname, anchor) in std["objects"].items():
        if kind == "term":
            r.terms[name.lower()] = Target(docname, anchor)
    for docname, kinds in env.toc_fignumbers.items():
        r.numbered[docname] = {
            kind: [(ident, ".".join(map(str, num))) for ident, num in entries.items()]
            for kind, entries in kinds.items()}
        for ident, num in kinds.get("displaymath", {}).items():
            label = ident[len("equation-"):] if ident.startswith("equation-") else ident
            r.equations[label] = Target(docname, ident, ".".join(map(str, num)))
    for docname, entries in r.numbered.items():
        for kind, pairs in entries.items():
            if kind in ("theorem", "definition", "lemma", "proposition", "corollary",
                        "example", "remark"):
                for ident, _ in pairs:
                    r.objects[ident] = (docname, f"prf:{kind}")
            elif kind == "exercise":
                for ident, _ in pairs:
                    r.objects[ident] = (docname, "exercise")
    cite = env.domaindata.get("cite", {})
    for citation in cite.get("citations", []):
        entry = citation.formatted_entry
        persons = citation.entry.persons.get("author", [])
        last = [" ".join(p.last_names) for p in persons]
        last = [re.sub(r"[{}\\\"]", "", name).replace("u}", "u") for name in last]
        authors = (last[0] if len(last) == 1 else " and ".join(last) if len(last) == 2
                   else f"{last[0]} et al." if last else "")
        r.citations[citation.key] = (entry.label, entry.text.render_as("text"), authors)
    execute = Path(app.outdir).parent / "jupyter_execute"
    for glue_file in execute.rglob("*.glue.json"):
        docname = str(glue_file.relative_to(execute)).replace("\\", "/")[: -len(".glue.json")]
        r.glue[docname] = json.loads(glue_file.read_text(encoding="utf-8"))

    def read_include(path: Path, options: dict) -> str:
        opts = dict(options)
        if "dedent" in opts:
            opts["dedent"] = int(opts["dedent"]) if opts["dedent"] else None
        text, _ = LiteralIncludeReader(str(path), opts, app.config).read()
        return text
    r.read_include = read_include
    return r


def _executed(app, docname: str, source: Path):
    """The build's executed notebook (jupyter-cache's record of this source), or None."""
    from jupyter_cache import get_cache

    cache_path = app.config.nb_execution_cache_path or str(Path(app.outdir).parent
                                                          / ".jupyter_cache")
    if not Path(cache_path).exists():
        return None
    nb = nbformat.read(source, as_version=4)
    try:
        _, merged = get_cache(cache_path).merge_match_into_notebook(nb)
    except KeyError:
        return None
    return merged


def write_edition(app, exception) -> None:
    if exception is not None or app.builder.name != "html":
        return
    from sphinx.util import logging
    logger = logging.getLogger(__name__)
    resolver = resolver_from_build(app)
    out = Path(app.outdir).parent / LAB_DIR
    book = out / "book"
    book.mkdir(parents=True, exist_ok=True)
    written = []
    for docname in sorted(app.env.found_docs):
        if docname in NOT_CONVERTED or not docname.startswith("book/"):
            continue
        source = Path(app.env.doc2path(docname))
        try:
            executed = _executed(app, docname, source) if source.suffix == ".ipynb" else None
            nb = reading_notebook(docname, source, resolver, executed)
        except ConversionError as err:
            logger.warning("reading edition: %s", err, type="curvature_lab", subtype="lab")
            continue
        target = book / f"{Path(docname).name}.ipynb"
        text = nbformat.writes(nb) + "\n"
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        written.append(target.name)
    for stale in book.glob("*.ipynb"):
        if stale.name not in written:
            stale.unlink()
    start = out / "START_HERE.ipynb"
    start.write_text(nbformat.writes(start_here(app, resolver)) + "\n", encoding="utf-8")
    logger.info("reading edition: %d notebooks in %s", len(written), out)


def start_here(app, resolver: Resolver):
    """The workspace's first page: how to read, run and hand in, and the contents."""
    from sphinx_external_toc.parsing import parse_toc_yaml

    toc = parse_toc_yaml(Path(app.confdir) / "_toc.yml")
    root = toc.root.docname
    lines = ["# Curvature Lab: start here", "",
             "This folder is your copy of the book, made for JupyterLab. Each chapter is a "
             "notebook: read it top to bottom, run its cells (**Run > Run All Cells**, or "
             "Shift+Enter one cell at a time), change a number and run again. A bar with "
             "**...** is a collapsed cell: a check that the text's numbers are right, or the "
             "code of a figure. It runs with the others, and a click opens it.", "",
             f"Begin with the [preface](book/{Path(root).name}.ipynb).", "",
             "Nothing you change here is overwritten when the book is rebuilt: `make lab` "
             "copies a new version of a chapter only over a copy you have not edited (beside "
             "an edited one it puts `NAME.new.ipynb`). The assignments are in `exercises/`: to "
             "hand one in, right-click it in the file browser, choose **Download**, and submit "
             "the `.ipynb` file as your course asks.", "", "## Contents", ""]
    for tree in toc[root].subtrees:
        items = [str(item) for item in tree.items]
        items = [doc for doc in items if doc not in NOT_CONVERTED and doc in resolver.titles]
        if not items:
            continue
        lines += [f"**{tree.caption}**" if tree.caption else "", ""]
        lines += [f"- [{resolver.titles[doc]}](book/{Path(doc).name}.ipynb)" for doc in items]
        lines.append("")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("\n".join(lines).strip(), id="start-here")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def setup(app):
    app.connect("build-finished", write_edition)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
