"""PDFs built byte by byte for the tests: the shapes an attacker uploads, made in the test, never downloaded.

``path_operator_pdf`` reproduces the shape of the outside review's 43-second file: many pages whose
content streams are Flate-compressed runs of path operators (move, line, curve, stroke), a few
dozen kilobytes on the wire that inflate to hundreds of kilobytes of operators pypdf parses one by
one. ``inflating_pdf`` is one stream that inflates far past its size. ``text_pdf`` shows given text
through a font whose ToUnicode map can say anything, a lone surrogate or a NUL included.
"""

from __future__ import annotations

import zlib


def _document(objects: list[bytes]) -> bytes:
    """Number ``objects`` from 1 (object 1 must be the catalog) and write the file with its xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _stream(content: bytes, *, compress: bool = True) -> bytes:
    if compress:
        packed = zlib.compress(content, 9)
        return b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream"
    return b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"


def _pages(contents: list[bytes], font: bytes = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>") -> bytes:
    # 1 catalog, 2 pages, 3 font, then a page and its content stream for each page.
    n = len(contents)
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n), font]
    for i, content in enumerate(contents):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % (5 + 2 * i)
        )
        objects.append(_stream(content))
    return _document(objects)


def path_operator_pdf(pages: int = 20, operators_per_page: int = 150_000) -> bytes:
    """Many pages of compressed path operators and one word of text each: the 43-second shape.

    Each page repeats one move-line-curve-stroke group, so zlib packs it about a thousand to one:
    the default is a file of a few tens of kilobytes whose pages inflate to 2 MB of operators each.
    """
    group = b"10 20 m 30 40 l 1 2 3 4 5 6 c S\n"
    contents = [
        b"BT /F1 12 Tf 72 720 Td (page%d) Tj ET\n" % page + group * (operators_per_page // 4) for page in range(pages)
    ]
    return _pages(contents)


def inflating_pdf(megabytes: int) -> bytes:
    """One page whose content stream inflates to ``megabytes`` MB of one repeated operator."""
    return _pages([b"BT /F1 12 Tf 72 720 Td (inflated) Tj ET\n" + b"0 0 m S\n" * (megabytes * 1024 * 1024 // 8)])


def text_pdf(unicode_hex: list[str]) -> bytes:
    """One page showing one glyph per entry, each mapped by ToUnicode to the UTF-16BE hex given ("D800", "0000")."""
    entries = b"".join(b"<%02X> <%s>\n" % (i + 1, h.encode()) for i, h in enumerate(unicode_hex))
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /T def /CMapType 2 def\n"
        b"1 begincodespacerange <00> <FF> endcodespacerange\n"
        b"%d beginbfchar\n" % len(unicode_hex) + entries + b"endbfchar\nendcmap CMapName currentdict /CMap "
        b"defineresource pop end end"
    )
    shown = b"".join(b"%02X" % (i + 1) for i in range(len(unicode_hex)))
    content = b"BT /F1 12 Tf 72 720 Td <" + shown + b"> Tj ET"
    # The ToUnicode stream is object 6 (after catalog, pages, font, page, content).
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        font,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
        b"/Contents 5 0 R >>",
        _stream(content),
        _stream(cmap, compress=False),
    ]
    return _document(objects)


def encrypted_pdf() -> bytes:
    """A PDF whose trailer declares encryption (pypdf reports ``is_encrypted``)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P -4 >>" % (b"00" * 32, b"00" * 32),
    ]
    document = _document(objects)
    trailer = b"/Root 1 0 R /Encrypt 4 0 R /ID [<%s> <%s>] >>" % (b"00" * 16, b"00" * 16)
    return document.replace(b"/Root 1 0 R >>", trailer)
