"""Write examples/posm/table-tent.pdf: a one-page A5 table tent (PyMuPDF), the template of posm.http
and `make demo`. Re-run: .venv/bin/python examples/posm/make_template.py"""

from __future__ import annotations

from pathlib import Path

import pymupdf

A5 = (420, 595)  # points


def table_tent_pdf(title: str = "Scan to order") -> bytes:
    document = pymupdf.open()
    page = document.new_page(width=A5[0], height=A5[1])
    page.draw_rect(pymupdf.Rect(20, 20, A5[0] - 20, A5[1] - 20), color=(0.2, 0.2, 0.2), width=2)
    page.insert_text((60, 100), title, fontsize=18, fontname="helv")
    data: bytes = document.tobytes()
    document.close()
    return data


if __name__ == "__main__":
    (Path(__file__).resolve().parent / "table-tent.pdf").write_bytes(table_tent_pdf())
