"""The core: keys, envelope, carrier mail, accounts — real SQLite files, no mocks."""

import os
import stat
from pathlib import Path

import pytest

from conftest import CORPUS, write_settings
from webcrypt.base import config
from webcrypt.core import crypto, envelope, mime
from webcrypt.infra import keys, store
from webcrypt.usecases import accounts, gateway, provision
from webcrypt.base.errors import (
    AccountDisabled, AlreadyExists, BadAddress, ConfigError, EnvelopeError, KeyFileError,
    MessageExpired, MessageRevoked, MessageTooLarge, UnknownAccount, WebcryptError, WrongPassword,
    WrongRecipient,
)
from webcrypt.context.home import Home

SENDER = "service@bank.example"
MESSAGE = b"From: Bank <service@bank.example>\nTo: alice@example.org\nSubject: Statement\n\nYour statement.\n"


def corpus_files():
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and "licenses" not in p.parts and p.name != "SOURCES.txt")


def seal_one(home, raw=MESSAGE, rcpt="alice@example.org"):
    (sealed,) = gateway.encrypt(home, raw, SENDER, [rcpt], print_login_data=lambda new: None)
    return sealed


def envelope_of(sealed) -> bytes:
    return mime.extract_envelope(sealed.data)


def open_as(home, sealed_or_env, address="alice@example.org"):
    data = sealed_or_env if isinstance(sealed_or_env, (bytes, bytearray)) else envelope_of(sealed_or_env)
    return gateway.open_envelope(home, data, accounts.get(address)).message


def test_corpus_is_complete():
    assert len(corpus_files()) == 145


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_round_trip_is_byte_exact(home, path):
    raw = path.read_bytes()
    sealed = seal_one(home, raw)
    assert raw not in sealed.data or len(raw) < 8
    assert open_as(home, sealed) == raw


def test_carrier_is_a_readable_mail_with_secure_htm(home):
    import email
    import email.policy

    sealed = seal_one(home)
    carrier = email.message_from_bytes(sealed.data, policy=email.policy.default)
    assert carrier["X-WebCrypt-Message-Id"] == sealed.message_id
    assert carrier["Subject"] == "Statement"
    parts = list(carrier.iter_parts())
    assert "confidential message" in parts[0].get_content()
    assert parts[1].get_filename() == "secure.htm"
    assert parts[1]["Content-Transfer-Encoding"] == "7bit"
    page = parts[1].get_content()
    assert 'action="https://portal.example.com/open"' in page
    lines = page.split('<textarea name="envelope" readonly>\n')[1].split("</textarea>")[0].splitlines()
    assert all(len(line) == 76 for line in lines[:-1]) and 0 < len(lines[-1]) <= 76
    assert "Your statement" not in sealed.data.decode()


def test_secure_htm_alone_opens(home):
    sealed = seal_one(home)
    page = mime.secure_htm_of(sealed.data)
    assert open_as(home, mime.extract_envelope(page)) == MESSAGE


def test_sub_keys_are_rfc5869_hkdf_sha256():
    """crypto.derive's HKDF (the standard library's HMAC) gives the RFC's test vectors, so keys
    wrapped before it replaced pycryptodome's HKDF still unwrap."""
    secret = bytes([0x0B] * 22)
    salt, info = bytes(range(13)), bytes(range(0xF0, 0xFA))
    assert crypto.hkdf_sha256(secret, 42, salt, info).hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    assert crypto.hkdf_sha256(secret, 42, b"", b"").hex() == (
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
    # what pycryptodome's HKDF gave for this key before
    assert crypto.derive(bytes(32), "mail-marker").hex() == (
        "819d84273251dc04a243614b92754cb707beeeebe31181671db60e0497ac7379")


def test_each_recipient_gets_an_own_envelope(home):
    first, second = gateway.encrypt(home, MESSAGE, SENDER, ["alice@example.org", "Bob@Example.org"],
                                    print_login_data=lambda new: None)
    assert second.recipient == "bob@example.org"
    assert envelope_of(first) != envelope_of(second)
    assert open_as(home, second, "bob@example.org") == MESSAGE
    with pytest.raises(WrongRecipient):
        gateway.open_envelope(home, envelope_of(first), accounts.get("bob@example.org"))


def test_incompressible_carrier_overhead(home):
    import base64

    raw = MESSAGE + base64.encodebytes(os.urandom(300_000))
    sealed = seal_one(home, raw)
    assert len(sealed.data) / len(raw) <= 1.40
    assert open_as(home, sealed) == raw


@pytest.mark.parametrize("where", ["magic", "version", "length", "header", "nonce", "body", "tag"])
def test_flipped_byte_anywhere_is_refused(home, where):
    data = bytearray(envelope_of(seal_one(home)))
    header_len = int.from_bytes(data[4:6], "big")
    position = {
        "magic": 0, "version": 3, "length": 5, "header": 6 + header_len // 2,
        "nonce": 6 + header_len + 3, "body": len(data) - 30, "tag": len(data) - 1,
    }[where]
    data[position] ^= 0x01
    with pytest.raises(WebcryptError):
        open_as(home, bytes(data))


def test_every_single_byte_flip_fails_cleanly(home):
    original = envelope_of(seal_one(home))
    for position in range(len(original)):
        data = bytearray(original)
        data[position] ^= 0x80
        with pytest.raises(WebcryptError):
            open_as(home, bytes(data))


def test_truncated_and_foreign_files(home):
    sealed = seal_one(home)
    page = mime.secure_htm_of(sealed.data)
    with pytest.raises(EnvelopeError):
        mime.extract_envelope(page[: len(page) // 2])
    cut = envelope_of(sealed)[:-40]
    with pytest.raises(EnvelopeError):
        open_as(home, cut)
    with pytest.raises(EnvelopeError):
        mime.extract_envelope(b"<html><body>Hello</body></html>")
    with pytest.raises(EnvelopeError):
        open_as(home, b"WCE\x01\x00\x05{}")


def test_envelope_from_another_installation_is_refused(home, tmp_path):
    sealed = seal_one(home)
    home.close()  # one database per process: the models are bound to one at a time
    path = provision.init_home(tmp_path / "other", "https://other.example.com")
    write_settings(path, {"accounts": {"scrypt_log_n": "12"}})
    other = Home(config.load(path), clock=home.clock)
    other.connect()
    try:
        accounts.create(other, "alice@example.org", "x" * 12)
        with pytest.raises(WebcryptError):
            open_as(other, sealed)
    finally:
        other.close()
        home.connect()


def test_expiry(home, clock):
    sealed = seal_one(home)
    clock.advance(89 * 86400)
    assert open_as(home, sealed) == MESSAGE
    clock.advance(2 * 86400)
    with pytest.raises(MessageExpired):
        open_as(home, sealed)


def test_revocation(home):
    sealed = seal_one(home)
    store.Message.update(revoked=home.now(), data_key_wrapped=None).where(store.Message.id == sealed.message_id).execute()
    with pytest.raises(MessageRevoked):
        open_as(home, sealed)


def test_deletion_destroys_messages_for_ever(home):
    sealed = seal_one(home)
    assert accounts.delete("alice@example.org") == 1
    with pytest.raises(UnknownAccount):
        accounts.get("alice@example.org")
    accounts.create(home, "alice@example.org", "new password 1")
    with pytest.raises(MessageRevoked):
        open_as(home, sealed)


def test_reset_keeps_messages_readable(home):
    sealed = seal_one(home)
    new = accounts.reset(home, "alice@example.org")
    recipient = accounts.authenticate(home, "alice@example.org", new.password)
    assert recipient.must_change_password
    assert gateway.open_envelope(home, envelope_of(sealed), recipient).message == MESSAGE


def test_rotation_keeps_messages_readable(home):
    sealed = seal_one(home)
    path = home.config.file("keys.master_key")
    for expected in (2, 3):
        ring = keys.add_generation(path, home.keyring)
        home.reload_keyring()
        assert accounts.rewrap_all(home, ring.current) == 1
        assert accounts.get("alice@example.org").key_generation == expected
        assert open_as(home, sealed) == MESSAGE
    later = seal_one(home)
    assert open_as(home, later) == MESSAGE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_wrong_password_unknown_and_disabled_accounts(home):
    accounts.create(home, "carol@example.org", "correct horse battery")
    with pytest.raises(WrongPassword):
        accounts.authenticate(home, "carol@example.org", "wrong")
    with pytest.raises(UnknownAccount):
        accounts.authenticate(home, "nobody@example.org", "x")
    accounts.set_disabled("carol@example.org", True)
    with pytest.raises(AccountDisabled):
        accounts.authenticate(home, "carol@example.org", "correct horse battery")
    with pytest.raises(AccountDisabled):
        seal_one(home, rcpt="carol@example.org")
    accounts.set_disabled("carol@example.org", False)
    assert accounts.authenticate(home, "carol@example.org", "correct horse battery")
    with pytest.raises(AlreadyExists):
        accounts.create(home, "Carol@EXAMPLE.org")


def test_expired_account_cannot_log_in(home, clock):
    accounts.create(home, "dave@example.org", "a long enough password")
    clock.advance(366 * 86400)
    with pytest.raises(AccountDisabled):
        accounts.authenticate(home, "dave@example.org", "a long enough password")


def test_passwords_are_stored_hashed(home):
    new = accounts.create(home, "erin@example.org")
    row = accounts.get("erin@example.org")
    assert new.password not in row.password_hash and row.password_hash.startswith("$scrypt$")
    assert len(new.password.replace("-", "")) * 5 >= 80
    assert not set("0O1lI") & set(new.password)


def test_message_over_the_limit(home):
    write_settings(home.config.path, {"policy": {"max_message_size": "1000"}})
    small = Home(config.load(home.config.path), clock=home.clock)
    with pytest.raises(MessageTooLarge):
        gateway.encrypt(small, MESSAGE + b"x" * 1000, SENDER, ["alice@example.org"])
    assert store.Message.select().count() == 0


@pytest.mark.parametrize("address", ["müller@example.org", "no-at-sign", "a b@example.org", "x@localhost", "x@exa_mple.org", ""])
def test_bad_addresses(home, address):
    with pytest.raises(BadAddress):
        seal_one(home, rcpt=address)


def test_idn_domain_is_normalised(home):
    sealed = seal_one(home, rcpt="Anna@Müller.example")
    assert sealed.recipient == "anna@xn--mller-kva.example"


def test_key_file_problems(home_dir):
    path = home_dir / "master.key"
    good = path.read_text()
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="readable by others"):
        keys.load(path)
    path.chmod(0o600)
    path.write_text("garbage\n")
    with pytest.raises(KeyFileError, match="not a webcrypt master key"):
        keys.load(path)
    path.write_text("webcrypt-master-key 1\n1 abcd\n")
    with pytest.raises(KeyFileError, match="damaged"):
        keys.load(path)
    path.unlink()
    with pytest.raises(KeyFileError, match="missing"):
        keys.load(path)
    path.mkdir()
    with pytest.raises(KeyFileError, match="cannot read"):
        keys.load(path)
    path.rmdir()
    path.write_text(good)
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="never overwrites"):
        keys.create(path)


def test_config_errors_name_key_and_file(tmp_path):
    path = tmp_path / "webcrypt.toml"
    path.write_text('[policy]\nkeyword = "[secure]"\nkeywrod = 1\n')
    with pytest.raises(ConfigError, match=r"webcrypt.toml: unknown key 'policy.keywrod'"):
        config.load(path)
    path.write_text('[policy]\nexpire_days = "ninety"\n')
    with pytest.raises(ConfigError, match="'policy.expire_days' must be a whole number"):
        config.load(path)
    path.write_text('[nonsense]\n')
    with pytest.raises(ConfigError, match=r"unknown section \[nonsense\]"):
        config.load(path)
    path.write_text('[mail]\nreinject = "carrier-pigeon"\n')
    with pytest.raises(ConfigError, match="mail.reinject"):
        config.load(path)
    path.write_text("[portal\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(path)
    with pytest.raises(ConfigError, match="no configuration"):
        config.load(tmp_path / "missing.toml")


def test_envelope_header_is_authenticated_and_versioned(home):
    data = envelope_of(seal_one(home))
    header = envelope.read_header(data)
    assert header.version == 1 and header.recipient == "alice@example.org" and header.sender == SENDER
    assert len(header.message_id) == 32 and header.expires - header.created == 90 * 86400


def test_envelope_reads_from_any_buffer(home):
    """psycopg2 hands blobs back as memoryviews of chars; indexing them gives bytes, not ints."""
    data = envelope_of(seal_one(home))
    chars = memoryview(data).cast("c")
    assert envelope.read_header(chars) == envelope.read_header(data)
    assert open_as(home, bytes(chars)) == MESSAGE


def test_carrier_saved_with_crlf_line_ends_opens(home):
    """Mail clients on Windows, and SMTP itself, store the carrier with CRLF."""
    sealed = seal_one(home)
    crlf = sealed.data.replace(b"\n", b"\r\n")
    assert open_as(home, mime.extract_envelope(crlf)) == MESSAGE
    page = mime.secure_htm_of(crlf)
    assert open_as(home, mime.extract_envelope(page)) == MESSAGE


def test_carrier_re_encoded_by_a_mail_server_opens(home):
    """Exchange and others may turn the 7bit secure.htm into quoted-printable or base64."""
    import email
    import email.encoders
    import email.policy

    sealed = seal_one(home)
    carrier = email.message_from_bytes(sealed.data, policy=email.policy.compat32)
    part = carrier.get_payload()[1]
    payload = part.get_payload()
    del part["Content-Transfer-Encoding"]
    part.set_payload(payload.encode("ascii"))
    email.encoders.encode_base64(part)
    assert b'<textarea name="envelope"' not in carrier.as_bytes()
    assert open_as(home, mime.extract_envelope(carrier.as_bytes())) == MESSAGE


def test_each_carrier_is_counted_with_its_message_row(home):
    gateway.encrypt(home, MESSAGE, SENDER, ["alice@example.org", "bob@example.org"], print_login_data=lambda n: None)
    (row,) = store.Stat.select().where(store.Stat.name == "encrypted")
    assert row.count == 2 and store.Message.select().count() == 2


# Languages of the mails (issue 10: languages as data)

def carrier_text(sealed) -> str:
    import quopri
    return quopri.decodestring(sealed.data).decode("utf-8", "replace")


def test_mails_say_everything_in_english_then_german_by_default(home):
    text = carrier_text(seal_one(home))
    assert "has sent you a confidential message" in text
    assert text.index("has sent you") < text.index("\n--\n") < text.index("hat Ihnen eine vertrauliche Nachricht")
    assert b"This is an encrypted message in MIME format. / Verschluesselte Nachricht." in seal_one(home).data


def test_mail_languages_follow_the_account_and_the_configuration(home_dir, clock):
    write_settings(home_dir / "webcrypt.toml", {"mail": {"language": '"de"', "second_language": '""'}})
    home = Home(config.load(home_dir / "webcrypt.toml"), clock=clock)
    home.connect()
    german = seal_one(home)
    text = carrier_text(german)
    assert "hat Ihnen eine vertrauliche Nachricht" in text and "confidential message" not in text
    assert b'<html lang="de">' in mime.secure_htm_of(german.data) and b"Open message" not in german.data
    accounts.set_language(accounts.get("alice@example.org"), "en")  # the account's choice wins
    text = carrier_text(seal_one(home))
    assert "confidential message" in text and "hat Ihnen" not in text and "\n--\n" not in text
    home.close()


def test_a_reader_who_chose_the_second_language_still_gets_both(home):
    seal_one(home)
    accounts.set_language(accounts.get("alice@example.org"), "de")
    text = carrier_text(seal_one(home))
    assert text.index("hat Ihnen eine vertrauliche Nachricht") < text.index("\n--\n") < text.index("has sent you")


@pytest.mark.parametrize("key, value", [("language", '"xx"'), ("second_language", '"english"')])
def test_mail_languages_are_checked_at_load(home_dir, key, value):
    write_settings(home_dir / "webcrypt.toml", {"mail": {key: value}})
    with pytest.raises(ConfigError, match=f"mail.{key}"):
        config.load(home_dir / "webcrypt.toml")


def test_every_language_translates_every_mail_text_with_known_placeholders():
    import string

    from webcrypt.base import languages
    from webcrypt.core import texts

    def placeholders(text):
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    for code in languages.LANGUAGES:
        if code == languages.DEFAULT:
            continue
        table = languages.catalogue(code, "mail")
        assert sorted(m for m in texts.MSGIDS if m not in table) == [], code
        # a translation may leave a value out (German names the portal once), never invent one
        assert [m for m in texts.MSGIDS if not placeholders(table[m]) <= placeholders(m)] == [], code
        assert table[texts.CARRIER_PREAMBLE].isascii()
