"""Colour contrast as WCAG 2.1 measures it (pure): relative luminance, contrast ratio, and the
darker shade of a brand colour that white text can sit on.

The brand colour is the background of the portal's header and buttons, with white text on
it, and the colour of links and headings on white: both need 4.5:1 (WCAG 1.4.3, normal text).
"""

import re

WHITE = "#ffffff"
TEXT_NEEDED = 4.5  # WCAG 1.4.3: normal-size text against its background
_HEX = re.compile(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def rgb(color: str) -> tuple[int, int, int]:
    """'#1f4e79' or '#fff' as (31, 78, 121); ValueError for anything else."""
    match = _HEX.fullmatch(color.strip())
    if not match:
        raise ValueError(f"not a colour like #1f4e79: {color!r}")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def hex_of(channels: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in channels)


def luminance(color: str) -> float:
    """WCAG relative luminance, 0 (black) to 1 (white)."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(first: str, second: str) -> float:
    """The contrast ratio of two colours, 1.0 to 21.0, in either order."""
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def ratio_text(value: float, needed: float = TEXT_NEEDED) -> str:
    """'4.48:1', two decimals; a failing ratio is never rounded up to the one *needed*."""
    shown = round(value, 2)
    if value < needed <= shown:
        shown = int(value * 100) / 100
    return f"{shown:.2f}:1"


def passes_with_white(color: str, needed: float = TEXT_NEEDED) -> bool:
    return ratio(color, WHITE) >= needed


def darkened_for_white(color: str, needed: float = TEXT_NEEDED) -> str:
    """*color* itself if white text on it reaches *needed*, else the lightest darker shade of the
    same hue (every channel scaled by one factor) that does: the brand stays recognisable."""
    if passes_with_white(color, needed):
        return hex_of(rgb(color))
    channels = rgb(color)
    low, high = 0.0, 1.0  # scale factors: low always passes (black), high fails
    for _ in range(24):
        middle = (low + high) / 2
        if passes_with_white(hex_of(_scaled(channels, middle)), needed):
            low = middle
        else:
            high = middle
    return hex_of(_scaled(channels, low))


def readable_brand(color: str, fallback: str = "#1f4e79") -> str:
    """The brand colour as pages and secure.htm use it: a colour from the configuration file that
    white text cannot be read on is darkened here, when it is shown, rather than refused when the
    file is loaded (mail must keep flowing over a cosmetic mistake); one that is not a colour at
    all gives way to *fallback*."""
    try:
        return darkened_for_white(color)
    except ValueError:
        return fallback


def _scaled(channels: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    # rounded down: a darker rounding can only raise the contrast with white
    return tuple(int(c * factor) for c in channels)  # type: ignore[return-value]
