"""Rendering: the QR decodes to the table's URL, the Cyrillic label is real text, other pages stay."""

from __future__ import annotations

import uuid
from typing import Any

import pymupdf
import pytest
import zxingcpp

from posm import rendering
from posm.domain.settings import TemplateSettings, merge

from .conftest import SETTINGS, template_pdf

URL = "https://check.example/t/{table_id}"


def render(
    settings: dict[str, Any], tables: list[tuple[str, str]], template: bytes | None = None
) -> list[bytes]:
    parsed = TemplateSettings.model_validate(settings)
    font = rendering.label_font("".join(sorted(set("".join(rendering.labels(parsed, tables))))))
    return rendering.render_posms(template or template_pdf(pages=2), settings, tables, URL, font)


def decode_qr(pdf: bytes, page: int = 0) -> list[str]:
    with pymupdf.open(stream=pdf, filetype="pdf") as document:
        pixmap = document[page].get_pixmap(dpi=150, colorspace=pymupdf.csGRAY)
    image = memoryview(pixmap.samples).cast("B", (pixmap.height, pixmap.width))
    return [code.text for code in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def page_text(pdf: bytes, page: int = 0) -> str:
    with pymupdf.open(stream=pdf, filetype="pdf") as document:
        return str(document[page].get_text())


def test_each_table_gets_a_qr_that_decodes_to_its_url() -> None:
    tables = [(str(uuid.uuid4()), str(n)) for n in range(1, 21)]
    pdfs = render(SETTINGS, tables)
    assert [decode_qr(pdf) for pdf in pdfs] == [[URL.format(table_id=t)] for t, _ in tables]


def test_the_label_is_text_in_cyrillic_from_an_embedded_font() -> None:
    (pdf,) = render(SETTINGS, [(str(uuid.uuid4()), "12А")])
    assert "Стол 12А" in page_text(pdf)
    with pymupdf.open(stream=pdf, filetype="pdf") as document:
        fonts = document[0].get_fonts()
    assert any(ext == "ttf" for _, ext, *_ in fonts), fonts  # embedded, not a base-14 name


def test_the_qr_is_vector_art_not_an_image() -> None:
    (pdf,) = render(SETTINGS, [(str(uuid.uuid4()), "1")])
    with pymupdf.open(stream=pdf, filetype="pdf") as document:
        assert document[0].get_images() == []
        drawings = document[0].get_drawings()
    qr = SETTINGS["qr"]
    box = pymupdf.Rect(qr["x"], qr["y"], qr["x"] + qr["size"], qr["y"] + qr["size"])
    assert drawings and all(box.contains(d["rect"]) for d in drawings)


def test_other_pages_are_kept_as_they_are() -> None:
    (pdf,) = render(SETTINGS, [(str(uuid.uuid4()), "1")])
    assert page_text(pdf, 1).strip() == "Template page 2"
    assert decode_qr(pdf, 1) == []


@pytest.mark.parametrize(
    ("override", "page"),
    [
        ({"page": 2}, 1),
        ({"qr": {"x": 10, "y": 10, "size": 120}, "text": {"align": "left", "x": 10, "y": 400}}, 0),
        ({"qr": {"dark_color": "#1a237e"}, "text": {"align": "right", "color": "#c62828"}}, 0),
    ],
)
def test_settings_overrides_move_the_qr_and_the_label(override: dict[str, Any], page: int) -> None:
    table_id = str(uuid.uuid4())
    settings = merge(SETTINGS, override)
    (pdf,) = render(settings, [(table_id, "7")])
    assert decode_qr(pdf, page) == [URL.format(table_id=table_id)]
    assert "Стол 7" in page_text(pdf, page)


def test_the_label_is_anchored_by_its_alignment() -> None:
    positions = {}
    for align in ("left", "center", "right"):
        (pdf,) = render(merge(SETTINGS, {"text": {"align": align}}), [(str(uuid.uuid4()), "7")])
        with pymupdf.open(stream=pdf, filetype="pdf") as document:
            (block,) = [b for b in document[0].get_text("blocks") if "Стол" in b[4]]
        positions[align] = block[:3:2]  # x0, x1
    x = SETTINGS["text"]["x"]
    assert positions["left"][0] == pytest.approx(x, abs=1)
    assert (positions["center"][0] + positions["center"][1]) / 2 == pytest.approx(x, abs=1)
    assert positions["right"][1] == pytest.approx(x, abs=1)


def test_the_stand_alone_qr_decodes_as_svg_and_png() -> None:
    data = URL.format(table_id=uuid.uuid4())
    png = rendering.qr_png(data, 300)
    pixmap = pymupdf.Pixmap(png)
    assert (pixmap.width, pixmap.height) == (300, 300)
    image = memoryview(pixmap.samples).cast("B", (pixmap.height, pixmap.width))
    assert [c.text for c in zxingcpp.read_barcodes(image)] == [data]
    svg = rendering.qr_svg(data)
    assert svg.startswith("<svg") and 'fill="#000"' in svg


def test_what_is_not_a_pdf_has_no_pages() -> None:
    with pytest.raises(ValueError):
        rendering.page_sizes(b"%PDF-1.4 garbage")
