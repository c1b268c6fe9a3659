"""Rendering POSMs: pure functions from bytes to bytes (no I/O), run in a process pool by the worker.

The QR is vector art: one path of rectangles (runs of dark modules merged per row) written straight
into a content stream appended to the chosen page, so it is crisp at any print size and costs a few
hundred operators. The label uses Noto Sans (shipped by `pymupdf-fonts`, covers Cyrillic), subset
once per slice to the characters the labels use, so each PDF embeds a few kilobytes of font instead
of 450 KB. Pages other than the chosen one are left as they are.
"""

from __future__ import annotations

import functools
import io
import os
import struct
import zlib
from collections.abc import Sequence
from typing import Any

import pymupdf
import qrcode
import qrcode.constants
from fontTools import subset as font_subset
from fontTools.ttLib import TTFont
from pymupdf_fonts import fontdescriptors

from posm.domain.settings import TemplateSettings, format_label

LABEL_FONT = "notos"  # Noto Sans Regular: Latin, Cyrillic, Greek
# Any of the eight QR masks decodes; scoring all eight (what `qrcode` does without one) costs five
# times the rest of a page's rendering, and table URLs differ only in a uuid, so one fixed mask.
QR_MASK = 2
QR_ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M
QUIET_ZONE = 4  # modules of white around a stand-alone QR (qr.svg / qr.png)
PREVIEW_MAX_HEIGHT = 2400  # pixels: a page much taller than wide is previewed narrower


def ready() -> int:
    """Nothing to do: called once in each rendering process at the worker's start, so the processes
    exist (and have imported this module) before the first generation needs them."""
    return os.getpid()


def qr_modules(data: str) -> list[list[bool]]:
    """The QR's module matrix, no border: True is dark."""
    code = qrcode.QRCode(error_correction=QR_ERROR_CORRECTION, border=0, mask_pattern=QR_MASK)
    code.add_data(data)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def dark_runs(modules: Sequence[Sequence[bool]]) -> list[tuple[int, int, int]]:
    """(row, first column, length) of each horizontal run of dark modules."""
    runs = []
    for row, cells in enumerate(modules):
        column, width = 0, len(cells)
        while column < width:
            if cells[column]:
                start = column
                while column < width and cells[column]:
                    column += 1
                runs.append((row, start, column - start))
            else:
                column += 1
    return runs


def _rgb(color: str) -> tuple[float, float, float]:
    return (int(color[1:3], 16) / 255, int(color[3:5], 16) / 255, int(color[5:7], 16) / 255)


@functools.lru_cache(maxsize=1)
def _font_file() -> bytes:
    loaded: bytes = fontdescriptors[LABEL_FONT]["loader"]()
    return loaded


@functools.lru_cache(maxsize=32)
def label_font(characters: str) -> bytes:
    """Noto Sans cut down to `characters` (plus what a font needs): a few KB to embed per PDF."""
    font = TTFont(io.BytesIO(_font_file()))
    options = font_subset.Options()
    options.layout_features = []
    options.hinting = False
    options.notdef_outline = True
    options.drop_tables += ["TTFA"]  # ttfautohint data: unused in a PDF, and the subsetter warns about it
    subsetter = font_subset.Subsetter(options)
    subsetter.populate(text=characters + " ")
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def labels(settings: TemplateSettings, tables: Sequence[tuple[str, str]]) -> list[str]:
    return [format_label(settings.text.format, label, table_id) for table_id, label in tables]


def page_sizes(template: bytes) -> list[tuple[float, float]]:
    """Each page's (width, height) in points as displayed; raises ValueError for what is not a PDF."""
    try:
        with pymupdf.open(stream=template, filetype="pdf") as document:
            if not document.is_pdf or document.page_count == 0 or document.needs_pass:
                raise ValueError("not a readable PDF with at least one page")
            return [(round(page.rect.width, 2), round(page.rect.height, 2)) for page in document]
    except (RuntimeError, pymupdf.FileDataError) as exc:  # MuPDF's errors for damaged files
        raise ValueError("not a readable PDF") from exc


def page_png(template: bytes, page_number: int, width: int) -> bytes:
    """The template's page `page_number` as a PNG `width` pixels wide (the console's preview); raises
    ValueError for what is not a PDF or has no such page."""
    try:
        with pymupdf.open(stream=template, filetype="pdf") as document:
            if not document.is_pdf or document.needs_pass or not 1 <= page_number <= document.page_count:
                raise ValueError(f"the template has no page {page_number}")
            page = document[page_number - 1]
            if page.rect.width <= 0 or page.rect.height <= 0:
                raise ValueError(f"page {page_number} of the template has no area")
            zoom = min(width / page.rect.width, PREVIEW_MAX_HEIGHT / page.rect.height)
            pixmap = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
            png: bytes = pixmap.tobytes("png")
            return png
    except (RuntimeError, pymupdf.FileDataError) as exc:
        raise ValueError("not a readable PDF") from exc


def _draw_qr(document: pymupdf.Document, page: pymupdf.Page, data: str, settings: TemplateSettings) -> None:
    modules = qr_modules(data)
    cell = settings.qr.size / len(modules)
    # Module coordinates -> the page's top-left coordinates -> PDF user space (any mediabox/rotation).
    to_pdf = pymupdf.Matrix(cell, 0, 0, cell, settings.qr.x, settings.qr.y) * ~page.transformation_matrix
    r, g, b = _rgb(settings.qr.dark_color)
    ops = [
        b"q %.4f %.4f %.4f rg %.6f %.6f %.6f %.6f %.4f %.4f cm"
        % (r, g, b, to_pdf.a, to_pdf.b, to_pdf.c, to_pdf.d, to_pdf.e, to_pdf.f)
    ]
    ops.extend(b"%d %d %d 1 re" % (column, row, length) for row, column, length in dark_runs(modules))
    ops.append(b"f Q")
    xref = document.get_new_xref()
    document.update_object(xref, "<<>>")
    document.update_stream(xref, b"\n".join(ops))
    contents = [*page.get_contents(), xref]
    document.xref_set_key(page.xref, "Contents", "[" + " ".join(f"{x} 0 R" for x in contents) + "]")


def _draw_label(page: pymupdf.Page, text: str, font: pymupdf.Font, settings: TemplateSettings) -> None:
    spec = settings.text
    width = font.text_length(text, fontsize=spec.font_size)
    x = {"left": spec.x, "center": spec.x - width / 2, "right": spec.x - width}[spec.align]
    writer = pymupdf.TextWriter(page.rect, color=_rgb(spec.color))
    writer.append((x, spec.y), text, font=font, fontsize=spec.font_size)
    writer.write_text(page)


def _prepare(template: bytes, page_number: int) -> bytes:
    """The template with the chosen page's content wrapped in q/Q once, so the template's graphics
    state cannot leak into what we append (checking that per PDF parses the page every time)."""
    with pymupdf.open(stream=template, filetype="pdf") as document:
        page = document[page_number - 1]
        if not page.is_wrapped:
            page.wrap_contents()
        prepared: bytes = document.tobytes(garbage=1, deflate=True)
        return prepared


def render_posms(
    template: bytes,
    settings: dict[str, Any],
    tables: Sequence[tuple[str, str]],
    url_template: str,
    font_file: bytes,
) -> list[bytes]:
    """One PDF per (table_id, label): the template with the table's QR and label on the chosen page.

    `font_file` is `label_font(...)` of (at least) every character of these labels.
    """
    parsed = TemplateSettings.model_validate(settings)
    font = pymupdf.Font(fontbuffer=font_file)
    texts = labels(parsed, tables)
    prepared = _prepare(template, parsed.page)
    rendered = []
    for (table_id, _), text in zip(tables, texts, strict=True):
        with pymupdf.open(stream=prepared, filetype="pdf") as document:
            page = document[parsed.page - 1]
            _draw_qr(document, page, url_template.format(table_id=table_id), parsed)
            _draw_label(page, text, font, parsed)
            rendered.append(document.tobytes(garbage=1, deflate=True))
    return rendered


def qr_svg(data: str) -> str:
    modules = qr_modules(data)
    side = len(modules) + 2 * QUIET_ZONE
    path = "".join(
        f"M{column + QUIET_ZONE} {row + QUIET_ZONE}h{length}v1h-{length}z"
        for row, column, length in dark_runs(modules)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" shape-rendering="crispEdges">'
        f'<rect width="{side}" height="{side}" fill="#fff"/><path fill="#000" d="{path}"/></svg>'
    )


def qr_png(data: str, size: int) -> bytes:
    """A `size` x `size` black-and-white PNG with the quiet zone; module edges rounded to whole pixels.

    Encoded directly (1 bit per pixel, each module row's scanline built once and repeated): a
    4096-pixel QR takes milliseconds, where filling a pixmap rectangle by rectangle takes seconds."""
    modules = qr_modules(data)
    side = len(modules) + 2 * QUIET_ZONE
    edges = [round(i * size / side) for i in range(side + 1)]
    margin = [False] * QUIET_ZONE
    rows = (
        [[False] * side] * QUIET_ZONE + [margin + r + margin for r in modules] + [[False] * side] * QUIET_ZONE
    )
    row_bytes = -(-size // 8)
    raw = bytearray()
    for index, row in enumerate(rows):
        pixels = "".join(("0" if dark else "1") * (edges[c + 1] - edges[c]) for c, dark in enumerate(row))
        scanline = b"\x00" + int(pixels.ljust(row_bytes * 8, "1"), 2).to_bytes(row_bytes, "big")
        raw += scanline * (edges[index + 1] - edges[index])

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)  # 1-bit grayscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw), 6))
        + chunk(b"IEND", b"")
    )
