"""Policy: pure decisions from header fields, recipients and rules."""

import pytest

from webcrypt.core import mime, policy

RULES = policy.Rules(
    keyword="[secure]",
    internal_domains=("corp.example",),
    always_domains=("bank.example",),
    never_domains=("partner.example",),
)


def decide(head: bytes, recipients, thread=False, rules=RULES):
    return policy.decide(rules, mime.fields(head + b"\n\nbody\n"), recipients, thread)


def test_no_keyword_passes_everyone():
    d = decide(b"Subject: hello", ["a@example.org", "b@corp.example"])
    assert (d.encrypt, d.plain, d.internal) == ([], ["a@example.org"], ["b@corp.example"])
    assert d.action == "pass" and d.reason == "none" and d.subject is None


def test_keyword_encrypts_external_and_is_removed_from_the_subject():
    d = decide(b"Subject: [secure] Contract", ["a@example.org", "x@corp.example"])
    assert d.encrypt == ["a@example.org"] and d.internal == ["x@corp.example"]
    assert d.action == "mixed" and d.reason == "keyword"
    assert d.subject == b"Subject: Contract"


@pytest.mark.parametrize(
    "field, expected",
    [
        (b"Subject: Re: Contract [SECURE] v2", b"Subject: Re: Contract v2"),
        (b"Subject: Contract [secure]", b"Subject: Contract"),
        (b"Subject: [secure]", b"Subject: "),
        (b"Subject: [secure]\n\tfolded part", b"Subject: folded part"),
        (b"Subject: Re: \xc3\xa4rger [secure] raw 8-bit", b"Subject: Re: \xc3\xa4rger raw 8-bit"),
    ],
)
def test_keyword_removed_from_the_raw_field(field, expected):
    d = decide(field, ["a@example.org"])
    assert d.encrypt == ["a@example.org"]
    assert d.subject == expected


def test_keyword_inside_rfc2047_words():
    field = b"Subject: =?utf-8?q?=5Bsecure=5D_Vertrag_f=C3=BCr_Sie?="
    d = decide(field, ["a@example.org"])
    assert d.reason == "keyword"
    name, _, value = d.subject.partition(b": ")
    assert name == b"Subject" and value.isascii()
    assert mime.decoded(value) == "Vertrag für Sie"


def test_keyword_split_over_encoded_words_ascii_result():
    field = b"Subject: =?iso-8859-1?q?=5Bsec?= =?iso-8859-1?q?ure=5D_hello?="
    d = decide(field, ["a@example.org"])
    assert d.reason == "keyword" and d.subject == b"Subject: hello"


def test_configured_keyword_is_case_insensitive():
    rules = policy.Rules(keyword="WebCrypt")
    d = decide(b"Subject: webcrypt: offer", ["a@example.org"], rules=rules)
    assert d.encrypt == ["a@example.org"] and d.subject == b"Subject: : offer"


def test_header_marker_encrypts_without_touching_the_subject():
    d = decide(b"Subject: offer\nX-WebCrypt: Encrypt", ["a@example.org"])
    assert d.encrypt == ["a@example.org"] and d.reason == "header" and d.subject is None


def test_other_marker_values_do_not_encrypt():
    d = decide(b"Subject: offer\nX-WebCrypt: no", ["a@example.org"])
    assert d.encrypt == []


def test_thread_reply_is_encrypted_again():
    d = decide(b"Subject: Re: offer\nIn-Reply-To: <x@y>", ["a@example.org", "b@corp.example"], thread=True)
    assert d.encrypt == ["a@example.org"] and d.internal == ["b@corp.example"] and d.reason == "thread"


def test_domain_rules_and_subdomains():
    d = decide(b"Subject: hi", ["a@bank.example", "b@mx.bank.example", "c@example.org", "d@notbank.example"])
    assert d.encrypt == ["a@bank.example", "b@mx.bank.example"]
    assert d.plain == ["c@example.org", "d@notbank.example"]
    assert d.reason == "domain" and d.subject is None


def test_never_rule_wins_over_keyword_and_internal_wins_over_all():
    rules = policy.Rules("[secure]", ("corp.example",), ("corp.example", "p.example"), ("p.example",))
    d = decide(b"Subject: [secure] x", ["a@p.example", "b@corp.example", "c@example.org"], rules=rules)
    assert d.plain == ["a@p.example"] and d.internal == ["b@corp.example"] and d.encrypt == ["c@example.org"]


def test_thread_ids_from_in_reply_to_and_references():
    fields = mime.fields(b"In-Reply-To: <a@x>\nReferences: <b@x>\n <a@x> junk <c@y>\n\n")
    assert policy.thread_ids(fields) == ["<a@x>", "<b@x>", "<c@y>"]


def test_broken_headers_do_not_fail():
    d = decide(b"Subject: =?bogus?x?zz?= [secure]\nX-WebCrypt:", ["a@example.org"])
    assert d.encrypt == ["a@example.org"]
    d = decide(b"no header at all", ["a@example.org"])
    assert d.action == "pass"


def test_rules_from_config(home):
    rules = policy.rules_from(home.config)
    assert rules.keyword == "[secure]" and rules.internal_domains == ()
