"""Security review findings: each test failed before its fix (see git log of this file)."""

import pytest

from webcrypt import mime, policy

RULES = policy.Rules(keyword="[secure]")


# Fail closed: a message that asks for encryption in any way that a mail client may show is encrypted.

@pytest.mark.parametrize("raw", [
    b"Subject: hello\nSubject: [secure] statement\n\nsecret body\n",  # a second Subject field
    b"X-WebCrypt: no\nX-WebCrypt: encrypt\nSubject: x\n\nsecret body\n",  # a second marker field
    b"Subject: =?x-unknown?q?=5Bsecure=5D?= statement\n\nsecret body\n",  # a charset Python does not know
])
def test_every_subject_and_marker_field_counts(raw):
    decision = policy.decide(RULES, mime.fields(raw), ["alice@example.org"])
    assert decision.encrypt == ["alice@example.org"] and not decision.plain
