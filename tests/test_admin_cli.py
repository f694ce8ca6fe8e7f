"""Administration over SSH: recall, expiry, message list, audit, admin accounts, user unlock/extend."""

import json

import pytest
from typer.testing import CliRunner

from webcrypt.base import config
from webcrypt.core import mime
from webcrypt.edges import cli
from webcrypt.infra import store
from webcrypt.usecases import accounts, admins, gateway, messages
from webcrypt.base.errors import ExitStatus, MessageExpired, MessageRevoked, UnknownMessage, WrongPassword
from webcrypt.context.home import Home

MESSAGE = b"From: service@bank.example\nTo: alice@example.org\nSubject: Statement\n\nyour statement\n"


def run(*args, input=None):
    return CliRunner().invoke(cli.app, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def sent(home):
    """One encrypted message for alice: (carrier bytes, message id, alice's password)."""
    passwords = {}
    sealed = gateway.encrypt(home, MESSAGE, "service@bank.example", ["alice@example.org"],
                             print_login_data=lambda new: passwords.update({new.address: new.password}))
    return sealed[0].data, sealed[0].message_id, passwords["alice@example.org"]


def secure_htm_of(carrier: bytes) -> bytes:
    import email

    part = next(p for p in email.message_from_bytes(carrier).walk() if p.get_filename() == "secure.htm")
    return part.get_payload(decode=True)


def open_cli(path, password):
    return run("open", str(path), "--as", "alice@example.org", "--password-stdin", input=password + "\n")


def test_admin_finds_and_recalls_a_message_from_a_sent_folder_copy(config_env, home, sent, tmp_path):
    carrier, message_id, password = sent
    copy = tmp_path / "sent-copy.eml"
    copy.write_bytes(carrier)
    assert mime.first(mime.fields(carrier), "x-webcrypt-message-id").value.decode() == message_id
    assert open_cli(copy, password).stdout_bytes == MESSAGE

    found = run("message", "find", str(copy), "--json")
    assert found.exit_code == 0 and json.loads(found.stdout)["id"] == message_id
    result = run("recall", str(copy))
    assert result.exit_code == 0 and message_id in result.stdout

    assert open_cli(copy, password).exit_code == ExitStatus.REVOKED
    recipient = accounts.authenticate(home, "alice@example.org", password)
    with pytest.raises(MessageRevoked):
        gateway.open_envelope(home, mime.extract_envelope(carrier), recipient)
    row = store.Message.get_by_id(message_id)
    assert row.data_key_wrapped is None and row.revoked is not None


def test_recall_by_id_and_from_secure_htm_alone(config_env, home, sent, tmp_path):
    carrier, message_id, password = sent
    page = secure_htm_of(carrier)
    assert messages.id_from_copy(page) == message_id
    assert run("recall", message_id.upper()).exit_code == 0
    htm = tmp_path / "secure.htm"
    htm.write_bytes(page)
    assert open_cli(htm, password).exit_code == ExitStatus.REVOKED
    assert run("recall", "0" * 32).exit_code == ExitStatus.UNKNOWN_MESSAGE
    assert run("message", "find", str(tmp_path / "nothing.eml")).exit_code != 0


def test_expiry_can_be_shortened_and_extended(config_env, home, sent, tmp_path, clock):
    carrier, message_id, password = sent
    copy = tmp_path / "c.eml"
    copy.write_bytes(carrier)
    recipient = accounts.authenticate(home, "alice@example.org", password)
    envelope_bytes = mime.extract_envelope(carrier)

    messages.set_expiry(home, message_id, 0, actor="test")
    clock.advance(1)
    with pytest.raises(MessageExpired):
        gateway.open_envelope(home, envelope_bytes, recipient)
    # The CLI runs with the real clock, long before the fixture's clock: make it expired for real.
    store.Message.update(expires=1).where(store.Message.id == message_id).execute()
    assert open_cli(copy, password).exit_code == ExitStatus.EXPIRED

    result = run("message", "expire", message_id, "--days", "30")
    assert result.exit_code == 0, result.output
    assert open_cli(copy, password).stdout_bytes == MESSAGE

    run("recall", message_id)
    result = run("message", "expire", message_id, "--days", "30")
    assert result.exit_code == ExitStatus.REVOKED and "recalled" in result.stderr
    with pytest.raises(UnknownMessage):
        messages.set_expiry(home, "f" * 32, 3, actor="test")


def test_message_list_filters_by_sender_recipient_and_date(config_env, home, clock):
    out = lambda new: None  # noqa: E731
    gateway.encrypt(home, MESSAGE, "service@bank.example", ["alice@example.org", "bob@example.net"],
                    print_login_data=out)
    clock.advance(10 * 86400)
    gateway.encrypt(home, MESSAGE, "hr@corp.example", ["alice@example.org"], print_login_data=out)

    listed = lambda *args: json.loads(run("message", "list", "--json", *args).stdout)  # noqa: E731
    assert len(listed()) == 3
    assert {m["recipient"] for m in listed("--sender", "bank")} == {"alice@example.org", "bob@example.net"}
    assert [m["sender"] for m in listed("--recipient", "alice")] == ["hr@corp.example", "service@bank.example"]
    assert set(listed()[0]) == {"id", "sender", "recipient", "created", "expires", "size", "first_opened",
                                "last_opened", "replied", "receipt", "receipt_sent", "revoked", "status",
                                "subject"}  # metadata only (the subject only with [senders] keep_subject)
    assert all(m["subject"] is None for m in listed())
    recent = messages.listing(since=clock.now - 86400)
    assert [m.sender for m in recent] == ["hr@corp.example"]
    assert run("message", "list", "--since", "yesterday").exit_code == ExitStatus.ERROR
    table = run("message", "list")
    assert table.exit_code == 0 and "bank.example" in table.stdout


def test_every_admin_action_lands_in_the_audit_trail(config_env, home, sent):
    _, message_id, _ = sent
    assert run("useradd", "carol@example.org").exit_code == 0
    assert run("reset", "carol@example.org").exit_code == 0
    assert run("user", "disable", "carol@example.org").exit_code == 0
    assert run("user", "enable", "carol@example.org").exit_code == 0
    assert run("user", "unlock", "carol@example.org").exit_code == 0
    assert run("user", "extend", "carol@example.org", "--days", "30").exit_code == 0
    assert run("keys", "rotate").exit_code == 0
    assert run("recall", message_id).exit_code == 0
    assert run("admin", "add", "root-admin", input="long enough password\n").exit_code == 0
    assert run("user", "delete", "carol@example.org", "--yes").exit_code == 0

    events = json.loads(run("audit", "--json").stdout)
    actions = [e["action"] for e in events]
    for action in ("useradd", "reset", "disable", "enable", "unlock", "extend", "keys_rotate", "recall",
                   "admin_add", "delete"):
        assert action in actions, action
    assert all(e["actor"].startswith("cli:") for e in events)
    carol = json.loads(run("audit", "--json", "--user", "carol@").stdout)
    assert {e["subject"] for e in carol} == {"carol@example.org"}
    assert json.loads(run("audit", "--json", "--action", "recall").stdout)[0]["subject"] == message_id
    assert json.loads(run("audit", "--json", "--since", "2000-01-01").stdout) == events
    text = run("audit").stdout
    assert "recall" in text and "long enough password" not in text + json.dumps(events)


def test_admin_accounts_are_separate_from_recipients(config_env, home):
    result = run("admin", "add", "Ops", input="correct horse battery\n")
    assert result.exit_code == 0 and "correct horse" not in result.output
    assert run("admin", "add", "ops", input="another long password\n").exit_code == ExitStatus.EXISTS
    assert run("admin", "add", "shorty", input="short\n").exit_code == ExitStatus.ERROR
    assert run("admin", "add", "alice@example.org", input="long enough password\n").exit_code == ExitStatus.ERROR
    assert run("admin", "add", "empty", input="\n").exit_code == ExitStatus.ERROR

    assert admins.authenticate(home, "ops", "correct horse battery").name == "ops"
    with pytest.raises(WrongPassword):
        admins.authenticate(home, "ops", "wrong horse battery")
    accounts.create(home, "dave@example.org", "recipient password")
    with pytest.raises(WrongPassword):  # a recipient is never an administrator
        admins.authenticate(home, "dave@example.org", "recipient password")

    assert run("admin", "disable", "ops").exit_code == 0
    assert run("admin", "passwd", "ops", input="a brand new password\n").exit_code == 0
    assert json.loads(run("admin", "list", "--json").stdout)[0]["disabled"] is True
    assert run("admin", "enable", "ops").exit_code == 0
    assert admins.authenticate(home, "ops", "a brand new password").name == "ops"


def test_unlock_and_extend(config_env, home, clock):
    accounts.create(home, "erin@example.org", "erin password 1")
    store.Recipient.update(failed_logins=7, locked_until=clock.now + 10**9).execute()
    assert run("user", "unlock", "erin@example.org").exit_code == 0
    row = accounts.get("erin@example.org")
    assert row.locked_until is None and row.failed_logins == 0

    assert run("user", "extend", "erin@example.org", "--days", "0").exit_code == 0
    assert accounts.get("erin@example.org").valid_until is None
    assert run("user", "extend", "erin@example.org", "--days", "-3").exit_code == ExitStatus.USAGE
    assert run("user", "unlock", "nobody@example.org").exit_code == ExitStatus.UNKNOWN_ACCOUNT


def test_reset_with_mail_sends_login_data_per_credentials_to(config_env, home, sent):
    result = run("reset", "alice@example.org", "--mail")
    # credentials_to = "print" in the tests: the CLI prints them on stderr, never on stdout
    assert result.exit_code == 0 and "alice@example.org" in result.stderr and "password" in result.stderr
    assert "sent" not in result.stdout  # nothing was mailed: the data went to stderr only


def test_settings_stored_in_the_database_override_the_file(home):
    from webcrypt.usecases import settings

    settings.save_overrides(home, {"policy.keyword": "WebCrypt", "policy.expire_days": 7}, actor="test")
    assert home.config["policy.keyword"] == "WebCrypt"
    other = Home(config.load(home.config.path))
    other.connect()  # another node sees the same
    assert other.config["policy.expire_days"] == 7 and other.file_config["policy.expire_days"] == 90
    settings.save_overrides(home, {"policy.keyword": None}, actor="test")
    assert home.config["policy.keyword"] == "[secure]"
    with pytest.raises(Exception, match="must not be negative"):
        settings.save_overrides(home, {"policy.expire_days": -1}, actor="test")
    with pytest.raises(Exception, match="cannot be changed"):
        settings.save_overrides(home, {"keys.master_key": "x"}, actor="test")


def test_long_running_processes_reread_settings_at_most_every_max_age(home):
    from webcrypt.usecases import settings

    other = Home(config.load(home.config.path))
    other.connect()
    other.refresh_settings(max_age=3600)  # just read at connect: not again within the hour
    settings.save_overrides(home, {"policy.keyword": "Secure!"}, actor="test")
    other.refresh_settings(max_age=3600)
    assert other.config["policy.keyword"] == "[secure]"
    other.refresh_settings()  # no max_age: read now
    assert other.config["policy.keyword"] == "Secure!"


def test_settings_over_ssh(config_env, home):
    result = run("settings", "set", "policy.keyword", "WebCrypt")
    assert result.exit_code == 0 and "WebCrypt" in result.stdout
    assert run("settings", "set", "mail.internal_domains", "corp.example, intra.example").exit_code == 0
    rows = {r["key"]: r for r in json.loads(run("settings", "show", "--json").stdout)}
    assert rows["policy.keyword"] == {"key": "policy.keyword", "file": "[secure]", "console": "WebCrypt",
                                      "effective": "WebCrypt"}
    assert rows["mail.internal_domains"]["effective"] == ["corp.example", "intra.example"]
    assert run("settings", "set", "policy.expire_days", "soon").exit_code == ExitStatus.CONFIG
    assert run("settings", "set", "keys.master_key", "x").exit_code == ExitStatus.CONFIG
    assert "WebCrypt" in run("settings", "show").stdout
    result = run("settings", "unset", "policy.keyword")
    assert result.exit_code == 0 and "[secure]" in result.stdout
    assert [e["action"] for e in json.loads(run("audit", "--json", "--action", "settings_config").stdout)] == [
        "settings_config"] * 3
