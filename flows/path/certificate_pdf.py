"""A certificate as a one-page PDF (fpdf2): the community's name and logo, the holder's chosen
name, the workshop or task, the date, the code and a QR code (segno) to the public
verification page.

Pure and blocking (font subsetting takes tens of milliseconds): turns call `render_pdf` through
`asyncio.to_thread`. The bundled DejaVu Sans (flows/path/fonts, see LICENSE-DejaVu) covers
Latin, Greek, Cyrillic, Armenian, Georgian and Hebrew names, where fpdf2's core fonts cover
Latin-1 only."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

FONTS = Path(__file__).resolve().parent / "fonts"
INK = (33, 37, 41)
ACCENT = (31, 94, 140)
MUTED = (96, 104, 112)


@dataclass(frozen=True)
class CertificatePage:
    community: str
    holder: str
    title: str  # the workshop's or the task's
    issued_at: datetime
    code: str
    verify_url: str  # "" when [web] public_url is not set: no QR code, the CLI check instead
    logo: bytes = b""  # PNG or JPEG


def render_pdf(page: CertificatePage) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import Align, XPos, YPos

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_creation_date(page.issued_at)
    pdf.set_title(f"Certificate {page.code}")
    pdf.set_author(page.community)
    pdf.set_creator("Wayfinder")
    pdf.set_auto_page_break(False)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    width, height = pdf.w, pdf.h

    # A double frame.
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, width - 20, height - 20)
    pdf.set_line_width(0.3)
    pdf.rect(14, 14, width - 28, height - 28)

    top = 24.0 if page.logo else 36.0
    if page.logo:
        pdf.image(io.BytesIO(page.logo), x=Align.C, y=top, h=22, keep_aspect_ratio=True)
        top += 26
    pdf.set_y(top)
    pdf.set_text_color(*MUTED)
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 9, page.community, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_text_color(*ACCENT)
    pdf.set_font("DejaVu", "B", 32)
    pdf.cell(0, 16, "Certificate of completion", align="C", new_x=XPos.LMARGIN,
             new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_text_color(*INK)
    pdf.set_font("DejaVu", "", 14)
    pdf.cell(0, 8, "This certifies that", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    # The name on one line, down to 18 pt; a longer one wraps.
    pdf.set_font("DejaVu", "B", 28)
    pdf.set_font_size(_fit(pdf, page.holder, 28, width - 60))
    pdf.set_x(30)
    pdf.multi_cell(width - 60, 12, page.holder, align="C", new_x=XPos.LMARGIN,
                   new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font("DejaVu", "", 14)
    pdf.cell(0, 8, "has completed", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    # A long task title gets a smaller type: it must stay clear of the code and the QR code.
    short = len(page.title) <= 140
    pdf.set_font("DejaVu", "B", 18 if short else 13)
    pdf.set_x(40)
    pdf.multi_cell(width - 80, 9 if short else 7, page.title, align="C", new_x=XPos.LMARGIN,
                   new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font("DejaVu", "", 13)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 8, f"on {page.issued_at.strftime('%d %B %Y')}", align="C",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    # The code and how to check it, bottom left; the QR code bottom right.
    bottom = height - 24
    pdf.set_text_color(*INK)
    pdf.set_font("DejaVu", "", 11)
    pdf.set_xy(24, bottom - 16)
    pdf.cell(150, 6, f"Certificate code: {page.code}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_x(24)
    pdf.set_text_color(*MUTED)
    pdf.set_font("DejaVu", "", 9)
    check = (f"Check it at {page.verify_url}" if page.verify_url else
             f"The community's organizers can check it: wayfinder certificate verify "
             f"{page.code}")
    pdf.cell(170, 5, check, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if page.verify_url:
        import segno

        side = 36.0
        qr = io.BytesIO()
        segno.make(page.verify_url, error="m").save(qr, kind="png", scale=8, border=2)
        pdf.image(io.BytesIO(qr.getvalue()), x=width - 24 - side, y=bottom - side, w=side,
                  h=side)
    return bytes(pdf.output())


def _fit(pdf: object, text: str, size: float, room: float) -> float:
    """The largest font size from `size` down to 18 at which `text` fits in `room`
    millimetres (18 if none does: the text then wraps)."""
    from fpdf import FPDF

    assert isinstance(pdf, FPDF)
    while size > 18:
        pdf.set_font_size(size)
        if pdf.get_string_width(text) <= room:
            break
        size -= 2
    return size
