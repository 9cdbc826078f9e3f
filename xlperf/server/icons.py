"""The ribbon icons of the 绩效自评 tab (Excel on the web and Mac), drawn with Pillow.

The PNGs in project/static/images/xlperf/ are generated; after changing a drawing run:

    python -m xlperf.server.icons
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from . import PROJECT_DIR

ICON_DIR = PROJECT_DIR / "static" / "images" / "xlperf"
SCALE = 8  # drawn large, scaled down: smooth edges at 16 px
BLUE, GREEN, WHITE = (31, 78, 121, 255), (46, 125, 50, 255), (255, 255, 255, 255)


def _canvas(colour) -> tuple[Image.Image, ImageDraw.ImageDraw, int]:
    side = 80 * SCALE
    img = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 0, side - 1, side - 1), radius=side // 6, fill=colour)
    return img, draw, side


def draw_recalc() -> Image.Image:
    """A calculator: display on top, 3 × 3 keys below."""
    img, draw, s = _canvas(BLUE)
    m = s // 6
    draw.rectangle((m, m, s - m, s // 3), fill=WHITE)
    key = (s - 2 * m) // 3
    gap = key // 5
    for row in range(3):
        for col in range(3):
            x0, y0 = m + col * key + gap // 2, s // 3 + gap + row * (key * 2 // 3 + gap // 2)
            draw.rectangle((x0, y0, x0 + key - gap, y0 + key * 2 // 3 - gap // 2), fill=WHITE)
    return img


def draw_check() -> Image.Image:
    """A tick."""
    img, draw, s = _canvas(GREEN)
    draw.line([(s * 0.22, s * 0.52), (s * 0.42, s * 0.72), (s * 0.80, s * 0.28)], fill=WHITE,
              width=s // 9, joint="curve")
    return img


def draw_export() -> Image.Image:
    """An arrow down into a tray."""
    img, draw, s = _canvas(BLUE)
    draw.rectangle((s * 0.44, s * 0.16, s * 0.56, s * 0.50), fill=WHITE)
    draw.polygon([(s * 0.28, s * 0.46), (s * 0.72, s * 0.46), (s * 0.50, s * 0.68)], fill=WHITE)
    draw.line([(s * 0.20, s * 0.62), (s * 0.20, s * 0.82), (s * 0.80, s * 0.82), (s * 0.80, s * 0.62)], fill=WHITE,
              width=s // 14, joint="curve")
    return img


def draw_report() -> Image.Image:
    """A page with lines of text."""
    img, draw, s = _canvas(BLUE)
    draw.rectangle((s * 0.24, s * 0.14, s * 0.76, s * 0.86), fill=WHITE)
    for i in range(5):
        y = s * (0.26 + i * 0.12)
        draw.rectangle((s * 0.32, y, s * (0.68 if i % 2 == 0 else 0.58), y + s * 0.05), fill=BLUE)
    return img


def draw_mail() -> Image.Image:
    """An envelope."""
    img, draw, s = _canvas(GREEN)
    box = (s * 0.16, s * 0.28, s * 0.84, s * 0.72)
    draw.rectangle(box, fill=WHITE)
    draw.line([(box[0], box[1]), (s * 0.50, s * 0.54), (box[2], box[1])], fill=GREEN, width=s // 16, joint="curve")
    return img


def draw_app() -> Image.Image:
    """Three rising bars: the add-in's icon in the add-ins list."""
    img, draw, s = _canvas(BLUE)
    bar, base = s // 6, s - s // 6
    for i, height in enumerate((0.30, 0.48, 0.66)):
        x0 = s // 6 + i * (bar + bar // 2)
        draw.rectangle((x0, base - s * height, x0 + bar, base), fill=WHITE)
    return img


RIBBON_SIZES = (16, 32, 80)
# One drawing per action id of xlperf/actions/actions.toml (the ribbon's <bt:Image> "<id>-<size>.png"), and the add-in's icon.
ICONS = {"recalc": (draw_recalc, RIBBON_SIZES), "check": (draw_check, RIBBON_SIZES), "export": (draw_export, RIBBON_SIZES),
         "report": (draw_report, RIBBON_SIZES), "mail": (draw_mail, RIBBON_SIZES), "icon": (draw_app, (32, 64))}


def write_icons(directory: Path = ICON_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (draw, sizes) in ICONS.items():
        big = draw()
        for size in sizes:
            path = directory / f"{name}-{size}.png"
            big.resize((size, size), Image.LANCZOS).save(path, optimize=True)
            written.append(path)
    return written


if __name__ == "__main__":
    for p in write_icons():
        print(p)
