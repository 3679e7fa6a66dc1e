"""The label documents the carrier simulator prints, written by hand: no PDF or image library.

A label is a few lines of text (carrier, service, from, to, weight, reference) and the
tracking number. The carriers send it in the format asked:

- :func:`label_pdf`: a one-page PDF (4 x 6 inches) with the lines as text (FedEx's
  ``PDF``); any PDF reader opens it, karrio's PDF library included;
- :func:`label_png`: a greyscale PNG with a border and bars drawn from the tracking
  number (UPS's ``PNG``: karrio turns UPS's image into a PDF itself);
- :func:`label_zpl`: ZPL II text for a thermal printer (UPS ``ZPL``, FedEx ``ZPLII``),
  with the tracking number as a Code 128 barcode.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from typing import Final

PAGE_WIDTH_PT: Final = 288
PAGE_HEIGHT_PT: Final = 432
"""4 x 6 inches, in PDF points."""
PNG_WIDTH: Final = 400
PNG_HEIGHT: Final = 600
WHITE: Final = 255
BLACK: Final = 0


def label_pdf(lines: Sequence[str]) -> bytes:
    """A one-page PDF showing ``lines`` top to bottom (printable ASCII; others become ?)."""
    text = ["BT", "/F1 12 Tf", "14 TL", f"20 {PAGE_HEIGHT_PT - 36} Td"]
    text += [f"({_pdf_text(line)}) Tj T*" for line in lines]
    text.append("ET")
    content = "\n".join(text).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
        % (PAGE_WIDTH_PT, PAGE_HEIGHT_PT),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    document = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(document))
        document += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(document)
    document += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    document += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    document += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(document)


def label_png(tracking_number: str) -> bytes:
    """A greyscale PNG: a white label with a black border and one bar per bit of the
    tracking number, so two numbers never give the same picture."""
    bits = [(byte >> shift) & 1 for byte in tracking_number.encode() for shift in range(7, -1, -1)]
    margin, frame = 20, 4
    bar_width = max((PNG_WIDTH - 2 * margin) // max(len(bits), 1), 1)
    edge = bytes([BLACK] * PNG_WIDTH)
    plain = bytearray([WHITE] * PNG_WIDTH)
    plain[:frame] = plain[-frame:] = bytes([BLACK] * frame)
    barred = bytearray(plain)
    for index, bit in enumerate(bits):
        start = margin + index * bar_width
        if bit and start + bar_width <= PNG_WIDTH - frame:
            barred[start : start + bar_width] = bytes([BLACK] * bar_width)
    bars = range(PNG_HEIGHT // 3, PNG_HEIGHT * 2 // 3)
    rows = []
    for y in range(PNG_HEIGHT):
        row = edge if y < frame or y >= PNG_HEIGHT - frame else barred if y in bars else plain
        rows.append(b"\x00" + bytes(row))  # filter type 0 (none) per scanline
    header = struct.pack(">IIBBBBB", PNG_WIDTH, PNG_HEIGHT, 8, 0, 0, 0, 0)  # 8-bit grey
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 9)),
            _png_chunk(b"IEND", b""),
        ]
    )


def label_zpl(lines: Sequence[str], tracking_number: str) -> str:
    """ZPL II: ``lines`` as text, then the tracking number as a Code 128 barcode."""
    fields = [f"^FO40,{40 + 40 * index}^FD{_zpl_text(line)}^FS" for index, line in enumerate(lines)]
    barcode_at = 60 + 40 * len(lines)
    return "\n".join(
        [
            "^XA",
            "^CF0,30",
            *fields,
            f"^BY3^FO40,{barcode_at}^BCN,120,Y,N,N^FD{_zpl_text(tracking_number)}^FS",
            "^XZ",
            "",
        ]
    )


def _pdf_text(line: str) -> str:
    printable = "".join(char if " " <= char <= "~" else "?" for char in line)
    return printable.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _zpl_text(line: str) -> str:
    # ^ and ~ start ZPL commands: they cannot appear in a field's data.
    return "".join(char if " " <= char <= "~" and char not in "^~" else "?" for char in line)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )
