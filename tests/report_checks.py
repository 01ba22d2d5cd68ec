"""Independent checks of publication files, shared by the render and report tests.

Each check reads a file with a different tool than the one that wrote it: PNG decoded here
with zlib, PDF content streams parsed with pypdf, pages rasterised with poppler's pdftoppm,
HTML opened in Debian's headless Chromium driven by Playwright.
"""

from __future__ import annotations

import re
import struct
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# --- PNG ----------------------------------------------------------------------------------


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGBA bytes) of an 8-bit, non-interlaced PNG (RGB/RGBA/grey)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    height = depth = ctype = interlace = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert depth == 8 and interlace == 0 and ctype in (0, 2, 4, 6), (depth, ctype, interlace)
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    i = 0
    for _ in range(height):
        ftype, line = raw[i], bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 0xFF
            elif ftype == 2:
                line[x] = (line[x] + b) & 0xFF
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 0xFF
        prev = line
        rows.append(_to_rgba(bytes(line), channels))
    return width, height, rows


def _to_rgba(line: bytes, channels: int) -> bytes:
    if channels == 4:
        return line
    out = bytearray()
    for k in range(0, len(line), channels):
        px = line[k : k + channels]
        if channels == 3:
            out += px + b"\xff"
        elif channels == 1:
            out += px * 3 + b"\xff"
        else:
            out += px[:1] * 3 + px[1:2]
    return bytes(out)


def ink_pixels(rows: list[bytes], box: tuple[int, int, int, int] | None = None) -> int:
    """Pixels that are not (near) white and not transparent inside box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box or (0, 0, len(rows[0]) // 4, len(rows))
    n = 0
    for row in rows[y0:y1]:
        for k in range(x0 * 4, x1 * 4, 4):
            r, g, b, a = row[k], row[k + 1], row[k + 2], row[k + 3]
            if a > 16 and min(r, g, b) < 235:
                n += 1
    return n


# --- PDF ----------------------------------------------------------------------------------


def pdf_missing_glyphs(path: Path) -> list[str]:
    """Text drawn with glyph 0 (.notdef, the missing-glyph box) anywhere in the PDF.

    Typst writes text with Identity-H fonts (2-byte glyph ids) and maps a character that no
    font covers to glyph 0; so a 0x0000 code in a shown string is a missing glyph. Forms
    (SVG charts become Form XObjects) are searched too.
    """
    from pypdf import PdfReader
    from pypdf.generic import ContentStream

    reader = PdfReader(path)
    found: list[str] = []

    def scan(content, resources, where: str) -> None:
        if content is None:
            return
        cs = ContentStream(content, reader)
        for operands, op in cs.operations:
            strings = []
            if op in (b"Tj", b"'") or op == b'"':
                strings = [operands[-1]]
            elif op == b"TJ":
                strings = [
                    x
                    for x in operands[0]
                    if not isinstance(x, int | float) and hasattr(x, "original_bytes")
                ]
            for s in strings:
                raw = s.original_bytes
                codes = [raw[i : i + 2] for i in range(0, len(raw) - 1, 2)]
                if b"\x00\x00" in codes:
                    found.append(where)
        resources = _resolve(resources) or {}
        xobjects = _resolve(resources.get("/XObject")) or {}
        for name in list(xobjects.keys()):
            xo = _resolve(xobjects[name])
            if hasattr(xo, "get") and xo.get("/Subtype") == "/Form":
                scan(xo, xo.get("/Resources"), f"{where} form {name}")

    for number, page in enumerate(reader.pages, start=1):
        scan(page.get_contents(), page.get("/Resources"), f"page {number}")
    return found


def _resolve(obj):
    return obj.get_object() if hasattr(obj, "get_object") else obj


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def pdf_fonts(path: Path) -> list[dict[str, str]]:
    """poppler's pdffonts table: name, type, emb (embedded yes/no)."""
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        if parts:
            # name type(may be 2-3 words) encoding emb sub uni id gen
            rows.append({"name": parts[0], "emb": parts[-5], "line": line})
    return rows


def words_outside_margins(path: Path, margin_mm: float = 16.0, slack_pt: float = 6.0) -> list[str]:
    """Words poppler finds left or right of the text area (the pages' side margins): text
    running off a table or off the page. `slack_pt`: Typst lets punctuation hang into the
    margin (a full-width mark by half an em, 5 pt at 10 pt), which is typography, not overflow."""
    out = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    margin = margin_mm / 25.4 * 72
    found = []
    for number, page in enumerate(re.split(r"<page ", out)[1:], start=1):
        width = float(re.match(r'width="([\d.]+)"', page).group(1))
        for x0, x1, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>',
            page,
        ):
            if float(x0) < margin - slack_pt or float(x1) > width - margin + slack_pt:
                found.append(
                    f"page {number}: {word!r} at x {float(x0):.1f}–{float(x1):.1f} of {width:.0f}"
                )
    return found


def render_pdf_pages(path: Path, folder: Path, dpi: int = 40) -> list[Path]:
    """Rasterise every page with pdftoppm (PNG); raises when poppler cannot render."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", str(path), str(folder / "page")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert not re.search(r"(?i)error|missing|couldn't", done.stderr), done.stderr
    return sorted(folder.glob("page-*.png"))


# --- Chromium -----------------------------------------------------------------------------


@dataclass
class BrowserVisit:
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    first_chart_box: dict[str, float] | None = None
    chart_count: int = 0
    screenshot: bytes = b""
    page_text: str = ""


def visit_offline(html: Path, shot: Path | None = None) -> BrowserVisit:
    """Open a local HTML file in headless Chromium with every non-file request blocked and
    recorded; collect failures, console errors and a screenshot of the first chart."""
    from playwright.sync_api import sync_playwright

    visit = BrowserVisit()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)
            page = context.new_page()

            def route(r):
                url = r.request.url
                if url.startswith(("file:", "data:")):
                    r.continue_()
                else:
                    visit.blocked.append(url)
                    r.abort()

            page.route("**/*", route)
            page.on("request", lambda req: visit.requests.append(req.url))
            page.on("requestfailed", lambda req: visit.failed.append(f"{req.url}: {req.failure}"))
            page.on(
                "console",
                lambda m: visit.console_errors.append(m.text) if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: visit.page_errors.append(str(e)))
            page.goto(html.resolve().as_uri(), wait_until="load")
            page.wait_for_timeout(300)
            charts = page.locator(
                ".output_svg img, .cell-output-display svg, .cell-output-display img"
            )
            visit.chart_count = charts.count()
            if visit.chart_count:
                first = charts.first
                first.scroll_into_view_if_needed()
                visit.first_chart_box = first.bounding_box()
                visit.screenshot = page.screenshot(clip=visit.first_chart_box)
                if shot is not None:
                    shot.write_bytes(visit.screenshot)
            visit.page_text = page.inner_text("body")
        finally:
            browser.close()
    return visit
