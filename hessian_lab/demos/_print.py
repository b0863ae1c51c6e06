"""The printed form of a demo: one PNG of a few key settings, each with its numbers.

Print has no slider. A demo's display bundle therefore also carries ``image/png``: a contact
sheet of three or four of the settings its static scrubber steps through (the first, the
last and evenly spaced ones between), each panel with its setting's label and the readout's
text under it. The HTML builder prefers ``text/html`` (the scrubber) and the LaTeX builder,
which cannot use HTML, takes the PNG; the book's extension (``book/_ext/offline_site.py``)
turns it into a numbered figure with the caption stored in the PNG itself (a ``tEXt`` chunk
under :data:`CAPTION_KEY`), so the caption is written once, in the demo.
"""

from __future__ import annotations

import html
import io
import re
import textwrap

import numpy as np

__all__ = ["CAPTION_KEY", "contact_sheet", "pick_settings", "readout_text"]

#: the PNG text key that holds a printed demo's caption (read by the book's extension)
CAPTION_KEY = "curvature-lab-caption"

_BREAKS = re.compile(r"<(?:br|/tr|/p|/div|/li|/caption)\b[^>]*>", re.IGNORECASE)
_CELL_END = re.compile(r"</t[dh]\s*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_HIDDEN = re.compile(r'<span aria-hidden="true"[^>]*>.*?</span>', re.DOTALL)


def readout_text(fragment: str) -> list[str]:
    """The lines a reader sees in a readout fragment (HTML), as plain text.

    Table cells are separated by two spaces, decoration marked ``aria-hidden`` (the colour
    swatches) is dropped, entities are decoded and empty lines removed.

    >>> readout_text('<div><span aria-hidden="true">&#9632;</span> minimum</div>'
    ...              '<table><tr><td>&kappa;</td><td>3</td></tr></table>')
    ['minimum', 'κ  3']
    """
    text = _HIDDEN.sub("", fragment)
    text = _CELL_END.sub("  ", _BREAKS.sub("\n", text))
    text = html.unescape(_TAG.sub("", text))
    lines = (re.sub(r"\s{2,}", "  ", raw.replace("\xa0", " ")).strip()
             for raw in text.split("\n"))
    return [line for line in lines if line]


def pick_settings(settings: list[dict], count: int) -> list[dict]:
    """``count`` settings evenly spread over ``settings``, first and last included."""
    if not settings:
        raise ValueError("a demo needs at least one static setting to print")
    if len(settings) <= count:
        return list(settings)
    picks = np.unique(np.round(np.linspace(0, len(settings) - 1, count)).astype(int))
    return [settings[i] for i in picks]


def _font(bold: bool, size_px: int):
    from matplotlib import font_manager
    from PIL import ImageFont

    properties = font_manager.FontProperties(family="DejaVu Sans",
                                             weight="bold" if bold else "normal")
    return ImageFont.truetype(font_manager.findfont(properties), size_px)


def contact_sheet(frames: list[np.ndarray], labels: list[str], texts: list[list[str]],
                  caption: str, columns: int, dpi: float) -> bytes:
    """Compose RGB frames into one PNG: panel (a), (b), ... with a label and text lines.

    ``frames`` are H x W x 3 uint8 arrays of equal size (the demo's figure rendered at
    ``dpi``); each panel is the frame at its own resolution with its label above and its
    readout lines (``texts``) below, in ``columns`` columns. Text is set in DejaVu Sans
    (matplotlib's own font) at 9 or 10 points of the sheet. ``caption`` is stored in the
    PNG under :data:`CAPTION_KEY`.
    """
    from PIL import Image, ImageDraw
    from PIL.PngImagePlugin import PngInfo

    if not frames or len(frames) != len(labels) or len(frames) != len(texts):
        raise ValueError("contact_sheet needs as many labels and texts as frames")
    height, width = frames[0].shape[:2]
    points = 9.0 if columns > 1 else 10.0
    size = round(points * dpi / 72)
    line = round(1.4 * size)
    body, bold = _font(False, size), _font(True, round(1.1 * size))
    wrap = max(30, int(width / (0.56 * size)))  # characters per line of text
    wrapped = [[piece for text in lines for piece in textwrap.wrap(text, wrap) or [""]]
               for lines in texts]
    label_h = round(1.8 * line)
    text_h = round((max(len(lines) for lines in wrapped) + 0.8) * line)
    panel_h = label_h + height + text_h
    rows = -(-len(frames) // columns)
    sheet = Image.new("RGB", (columns * width, rows * panel_h), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (frame, label, lines) in enumerate(zip(frames, labels, wrapped, strict=True)):
        r, c = divmod(i, columns)
        x, y = c * width, r * panel_h
        draw.text((x + size // 2, y + round(0.5 * line)), f"({chr(ord('a') + i)}) {label}",
                  font=bold, fill="#1a1a1a")
        sheet.paste(Image.fromarray(frame), (x, y + label_h))
        for k, text in enumerate(lines):
            draw.text((x + size, y + label_h + height + round((0.3 + k) * line)), text,
                      font=body, fill="#1a1a1a")
    info = PngInfo()
    info.add_itxt(CAPTION_KEY, caption)
    out = io.BytesIO()
    sheet.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE) \
        .save(out, format="png", optimize=True, pnginfo=info)
    return out.getvalue()
