"""QR codes for the authenticator app's otpauth:// URI; the only module that imports segno.

Text in, SVG (or terminal) text out: the console puts the SVG inline into its page, so no
image is fetched from anywhere and the strict content security policy needs no exception
(the markup has no script and no style attribute, only presentation attributes).
"""

import html
import io

import segno

# Error correction M (15 %): a code on a screen is not scratched, and a lower level keeps the
# symbol small enough for a phone's camera at arm's length.
ERROR_LEVEL = "m"


def matrix(text: str) -> list[list[bool]]:
    """The modules of the symbol for *text*, dark is True, without the quiet zone (for tests)."""
    return [[bool(module) for module in row] for row in _symbol(text).matrix]


def svg(text: str, label: str, scale: int = 4) -> str:
    """An inline ``<svg>`` element showing *text* as a QR code, named *label* for screen readers
    (role="img" with aria-label and a <title>: the page's reader announces one image, not paths)."""
    markup = _symbol(text).svg_inline(scale=scale, border=4, title=label, svgclass="qr", lineclass=None,
                                      dark="#000", light="#fff")
    # segno writes <svg width=.. height=.. class="qr">: give it its role and name; the label is
    # escaped as an attribute value (segno escapes the <title> itself)
    return markup.replace("<svg ", f'<svg role="img" aria-label="{html.escape(label, quote=True)}" ', 1)


def terminal(text: str) -> str:
    """The symbol drawn with block characters, for a terminal (the CLI's enrolment)."""
    out = io.StringIO()
    _symbol(text).terminal(out=out, compact=True, border=2)
    return out.getvalue()


def _symbol(text: str):
    return segno.make_qr(text, error=ERROR_LEVEL, boost_error=False)
