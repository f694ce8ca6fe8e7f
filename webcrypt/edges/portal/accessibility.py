"""The accessibility statement's facts: the pages and the checks, one list for two readers.

The statement at /accessibility (EN 301 549 / WCAG 2.1 AA, as EU public bodies publish it) renders
these lists, and the browser tests (tests/test_accessibility_browser.py) iterate the very same ones:
every page of PAGES is loaded and checked in every language and on every screen of VIEWPORTS, and
each walk of CHECKS runs its steps by name. So the statement cannot name a page or a check that no
test runs; a page missing here is simply not claimed. Every text is an English msgid of portal.po.
"""

from dataclasses import dataclass

# When the statement was last reviewed: change it with the lists (tests/test_accessibility.py
# keeps a fingerprint of them per date, so a changed list without a new date fails).
STATEMENT_DATE = "2026-12-01"
STANDARD = "EN 301 549 V3.2.1 (WCAG 2.1, level AA)"
# The axe-core rule tags run on every page: WCAG 2.0 and 2.1, levels A and AA.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
# name -> (width, height) in CSS pixels: the screens every page is checked on.
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
# A 1280×800 screen at 200 % zoom lays out as 640×400 CSS pixels (WCAG 1.4.4).
ZOOMED = (640, 400)

RECIPIENTS, SENDERS, ADMINISTRATORS = "recipients", "senders", "administrators"
AUDIENCES = {RECIPIENTS: "Pages for recipients", SENDERS: "Pages for senders",
             ADMINISTRATORS: "The administrators' console"}


@dataclass(frozen=True)
class Page:
    name: str  # how the statement names it
    path: str  # what the tests load; {upload}, {message}, {address} are filled in there
    audience: str
    signed_in: bool
    reach: str = ""  # a page no link leads to (the answer to a form): the tests' step that sends it


PAGES = (
    Page("Start page", "/", RECIPIENTS, False),
    Page("Log in (after opening secure.htm)", "/login?upload={upload}", RECIPIENTS, False),
    Page("Sign in with a code by mail", "/login/code?upload={upload}", RECIPIENTS, False),
    Page("Forgotten password", "/forgot", RECIPIENTS, False),
    Page("Privacy", "/privacy", RECIPIENTS, False),
    Page("Accessibility statement", "/accessibility", RECIPIENTS, False),
    Page("Error page (session ended)", "/message/{upload}/reply", RECIPIENTS, False),
    Page("Log in: attempts left, then locked", "/login", RECIPIENTS, False, reach="lock"),
    Page("Forgotten password: the link is on its way", "/forgot", RECIPIENTS, False, reach="forgot"),
    Page("Message", "/message/{upload}", RECIPIENTS, True),
    Page("Print view", "/message/{upload}/print", RECIPIENTS, True),
    Page("Reply", "/message/{upload}/reply", RECIPIENTS, True),
    Page("Reply sent", "/message/{upload}/replied", RECIPIENTS, True),
    Page("Profile", "/profile", RECIPIENTS, True),
    Page("Change password", "/password", RECIPIENTS, True),
    Page("Logged out", "/logout", RECIPIENTS, True, reach="logout"),
    Page("Sender page: sign in", "/sender", SENDERS, False),
    Page("Sent secure mail", "/sender/messages", SENDERS, True),
    Page("One sent message", "/sender/message/{message}", SENDERS, True),
    Page("Recall a message", "/sender/message/{message}/recall", SENDERS, True),
    Page("Passkeys", "/sender/passkeys", SENDERS, True),
    Page("Console: log in", "/admin/login", ADMINISTRATORS, False),
    Page("Console: monitoring", "/admin/", ADMINISTRATORS, True),
    Page("Console: users", "/admin/users", ADMINISTRATORS, True),
    Page("Console: one user", "/admin/users/{address}", ADMINISTRATORS, True),
    Page("Console: messages", "/admin/messages", ADMINISTRATORS, True),
    Page("Console: branding", "/admin/branding", ADMINISTRATORS, True),
    Page("Console: settings", "/admin/settings", ADMINISTRATORS, True),
    Page("Console: audit trail", "/admin/audit", ADMINISTRATORS, True),
    Page("Console: sessions", "/admin/sessions", ADMINISTRATORS, True),
    Page("Console: passkeys", "/admin/passkeys", ADMINISTRATORS, True),
    Page("Console: second factor", "/admin/second-factor", ADMINISTRATORS, True),
    Page("Console: error page (unknown user)", "/admin/users/nobody@example.invalid", ADMINISTRATORS, True),
)


@dataclass(frozen=True)
class Check:
    key: str
    name: str
    how: str
    steps: tuple[str, ...] = ()  # a walk's steps, in order; the test runs one function per step


CHECKS = (
    Check("axe", "Automated WCAG 2.1 A and AA rules",
          "axe-core checks every page listed below in every language, signed out and signed in, on a desktop "
          "screen and on a phone: no violations."),
    Check("reflow", "Phone screen and 200% zoom",
          "Every page listed below fits a phone's screen (390 pixels wide) and a desktop screen zoomed to 200% "
          "without scrolling sideways."),
    Check("keyboard", "Keyboard only",
          "From secure.htm to logging out with the Tab, Enter and Space keys alone: the focus is always visible "
          "(an outline with a contrast of at least 3:1) and never trapped.",
          ("Open secure.htm", "Log in", "Change the first password", "Read the message",
           "Download an attachment", "Reply", "Log out")),
    Check("no-script", "JavaScript switched off",
          "Everything a recipient needs works without JavaScript.",
          ("Open secure.htm", "Log in", "Read the message", "Download an attachment", "Reply", "Log out")),
)

# What does not conform, or what the checks above do not cover.
LIMITATIONS = (
    "The content of a message and its attachments is written by its sender: the portal shows it as it was "
    "sent (HTML mail in a protected frame) and cannot make it accessible.",
    "Automated rules find only part of the barriers there can be; the pages have not yet been tried by people "
    "who use a screen reader.",
    "Passkeys use the dialogs of your device and browser, which this portal does not control.",
    "Pages not listed above (for example the question of a forgotten password, reached from its mail) are built "
    "the same way but not checked one by one.",
)


def pages_by_audience() -> dict[str, list[Page]]:
    """PAGES grouped as the statement shows them, in AUDIENCES' order."""
    return {audience: [p for p in PAGES if p.audience == audience] for audience in AUDIENCES}


def texts() -> set[str]:
    """Every text the statement takes from these lists (each must be in every catalogue)."""
    found = set(AUDIENCES.values()) | {p.name for p in PAGES} | set(LIMITATIONS)
    for check in CHECKS:
        found |= {check.name, check.how, *check.steps}
    return found
