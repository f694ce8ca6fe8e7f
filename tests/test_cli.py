"""The administrator's CLI, driven through typer's runner against real homes."""

import json

import pytest
from typer.testing import CliRunner

from conftest import CORPUS
from webcrypt.edges import cli
from webcrypt.base.errors import ExitStatus

MESSAGE = b"From: service@bank.example\nTo: alice@example.org\nSubject: Hello\n\nbody\n"


def run(*args, input=None):
    return CliRunner().invoke(cli.app, list(args), input=input, catch_exceptions=False)


def all_commands(group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,)
        if hasattr(command, "commands"):
            yield from all_commands(command, prefix + (name,))


def command_paths():
    import typer.main

    return sorted(all_commands(typer.main.get_command(cli.app)))


def test_commands_include_the_core_set():
    names = {" ".join(p) for p in command_paths()}
    assert {"init", "useradd", "encrypt", "open", "reset", "user list", "user show", "user disable",
            "user enable", "user delete", "keys rotate", "migrate"} <= names


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_command_has_help_with_an_example(path):
    result = run(*path, "--help")
    assert result.exit_code == 0, result.output
    import typer.main

    command = typer.main.get_command(cli.app)
    for name in path:
        command = command.commands[name]
    if not hasattr(command, "commands"):
        assert "Example" in (command.help or ""), f"{' '.join(path)} has no example in its help"


def test_init_useradd_encrypt_open_round_trip(tmp_path, monkeypatch):
    home = tmp_path / "h"
    result = run("init", "--home", str(home), "--portal-url", "https://secure.example.com")
    assert result.exit_code == 0 and "WEBCRYPT_CONFIG" in result.output
    assert oct((home / "master.key").stat().st_mode)[-3:] == "600"
    assert oct((home / "webcrypt.db").stat().st_mode)[-3:] == "600"
    monkeypatch.setenv("WEBCRYPT_CONFIG", str(home / "webcrypt.toml"))
    result = run("useradd", "alice@example.org", "--password-stdin", input="s3cret passphrase\n")
    assert result.exit_code == 0 and "s3cret" not in result.output
    message = tmp_path / "m.eml"
    message.write_bytes(MESSAGE)
    result = run("encrypt", "--from", "service@bank.example", "--to", "alice@example.org", str(message))
    assert result.exit_code == 0
    carrier = tmp_path / "c.eml"
    carrier.write_bytes(result.stdout_bytes)
    result = run("open", str(carrier), "--as", "alice@example.org", "--password-stdin", input="s3cret passphrase\n")
    assert result.exit_code == 0 and result.stdout_bytes == MESSAGE


def test_init_never_overwrites_the_key(tmp_path):
    home = tmp_path / "h"
    run("init", "--home", str(home))
    key = (home / "master.key").read_bytes()
    assert run("init", "--home", str(home)).exit_code == 0
    assert (home / "master.key").read_bytes() == key


def test_encrypt_to_several_recipients_prints_new_login_data_once(config_env, tmp_path):
    source = tmp_path / "m.eml"
    source.write_bytes(MESSAGE)
    out = tmp_path / "out"
    result = run("encrypt", "--from", "s@bank.example", "--to", "a@example.org", "--to", "b@example.org",
                 "--out", str(out), str(source))
    assert result.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["a@example.org.eml", "b@example.org.eml"]
    assert result.output.count("shown once") == 2
    again = run("encrypt", "--from", "s@bank.example", "--to", "a@example.org", "--out", str(out), str(source))
    assert "shown once" not in again.output


def test_encrypt_from_stdin_and_corpus_file(config_env, tmp_path):
    raw = (CORPUS / "flanker" / "torture.eml").read_bytes() if (CORPUS / "flanker" / "torture.eml").exists() else MESSAGE
    result = run("encrypt", "--from", "s@bank.example", "--to", "a@example.org", "-", input=raw)
    assert result.exit_code == 0 and b"secure.htm" in result.stdout_bytes


def login_of(output: str) -> str:
    return output.rsplit(": ", 1)[1].split()[0]


@pytest.fixture
def sealed(config_env, tmp_path):
    source = tmp_path / "m.eml"
    source.write_bytes(MESSAGE)
    result = run("encrypt", "--from", "s@bank.example", "--to", "alice@example.org", str(source))
    carrier = tmp_path / "c.eml"
    carrier.write_bytes(result.stdout_bytes)
    password = login_of(result.stderr if result.stderr_bytes else result.output)
    return carrier, password


def test_open_errors_have_distinct_exit_codes(sealed, tmp_path):
    carrier, password = sealed
    result = run("open", str(carrier), "--as", "alice@example.org", "--password-stdin", input="wrong\n")
    assert result.exit_code == ExitStatus.WRONG_PASSWORD
    assert result.output.strip().count("\n") == 0 and "error:" in result.output
    run("useradd", "bob@example.org", "--password-stdin", input="bobs password\n")
    result = run("open", str(carrier), "--as", "bob@example.org", "--password-stdin", input="bobs password\n")
    assert result.exit_code == ExitStatus.WRONG_RECIPIENT
    result = run("open", str(carrier), "--as", "nobody@example.org", "--password-stdin", input="x\n")
    assert result.exit_code == ExitStatus.UNKNOWN_ACCOUNT
    result = run("open", str(carrier), "--as", "not an address", "--password-stdin", input="x\n")
    assert result.exit_code == ExitStatus.BAD_ADDRESS
    foreign = tmp_path / "foreign.htm"
    foreign.write_text("<html>hello</html>")
    result = run("open", str(foreign), "--as", "alice@example.org", "--password-stdin", input=password + "\n")
    assert result.exit_code == ExitStatus.BAD_ENVELOPE
    result = run("open", str(tmp_path / "missing.eml"), "--as", "alice@example.org", "--password-stdin", input="x\n")
    assert result.exit_code == ExitStatus.ERROR and "cannot read" in result.output
    run("user", "disable", "alice@example.org")
    result = run("open", str(carrier), "--as", "alice@example.org", "--password-stdin", input=password + "\n")
    assert result.exit_code == ExitStatus.DISABLED


def test_reset_keeps_the_message_and_rotation_too(sealed):
    carrier, old = sealed
    result = run("reset", "alice@example.org")
    new = login_of(result.output)
    assert run("open", str(carrier), "--as", "alice@example.org", "--password-stdin", input=old + "\n").exit_code == ExitStatus.WRONG_PASSWORD
    assert run("keys", "rotate").exit_code == 0
    result = run("open", str(carrier), "--as", "alice@example.org", "--password-stdin", input=new + "\n")
    assert result.exit_code == 0 and result.stdout_bytes == MESSAGE


def test_delete_warns_and_destroys(sealed):
    carrier, password = sealed
    result = run("user", "delete", "alice@example.org", input="n\n")
    assert result.exit_code != 0 and "never be read again" in result.output
    assert run("user", "show", "alice@example.org").exit_code == 0
    result = run("user", "delete", "alice@example.org", "--yes")
    assert result.exit_code == 0 and "1 message key(s) destroyed" in result.output
    assert run("user", "show", "alice@example.org").exit_code == ExitStatus.UNKNOWN_ACCOUNT
    run("useradd", "alice@example.org", "--password-stdin", input="fresh password\n")
    result = run("open", str(carrier), "--as", "alice@example.org", "--password-stdin", input="fresh password\n")
    assert result.exit_code == ExitStatus.REVOKED


def test_user_list_and_show_json(sealed):
    rows = json.loads(run("user", "list", "--json").output)
    assert [r["address"] for r in rows] == ["alice@example.org"] and rows[0]["messages"] == 1
    shown = json.loads(run("user", "show", "alice@example.org", "--json").output)
    assert shown["must_change_password"] is True
    assert "alice@example.org" in run("user", "list").output


def test_missing_config_and_key_file(tmp_path, monkeypatch, config_env):
    monkeypatch.setenv("WEBCRYPT_CONFIG", str(tmp_path / "nope.toml"))
    result = run("user", "list")
    assert result.exit_code == ExitStatus.CONFIG and "no configuration" in result.output
    monkeypatch.setenv("WEBCRYPT_CONFIG", str(config_env))
    (config_env.parent / "master.key").unlink()
    result = run("useradd", "x@example.org")
    assert result.exit_code == ExitStatus.KEY_FILE and "missing" in result.output


def test_too_large_message(config_env, tmp_path):
    from conftest import write_settings

    write_settings(config_env, {"policy": {"max_message_size": "100"}})
    result = run("encrypt", "--from", "s@bank.example", "--to", "a@example.org", "-", input=MESSAGE * 10)
    assert result.exit_code == ExitStatus.TOO_LARGE


def test_several_recipients_need_out(config_env):
    result = run("encrypt", "--from", "s@bank.example", "--to", "a@example.org", "--to", "b@example.org", "-", input=MESSAGE)
    assert result.exit_code == ExitStatus.ERROR and "--out" in result.output


def test_demo_prepares_a_sample_that_opens(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("demo", "--no-serve", "--listen", "127.0.0.1:18081")
    assert result.exit_code == 0, result.output
    lines = dict(line.split(":", 1) for line in result.output.splitlines() if ":" in line)
    secure_htm = tmp_path / "demo-home" / "out" / "secure.htm"
    assert lines["Sample secure.htm"].strip().startswith(str(secure_htm))
    assert 'action="http://127.0.0.1:18081/open"' in secure_htm.read_text()
    monkeypatch.setenv("WEBCRYPT_CONFIG", str(tmp_path / "demo-home" / "webcrypt.toml"))
    password = lines["Password"].strip()
    opened = run("open", str(secure_htm), "--as", "reader@example.org", "--password-stdin", input=password + "\n")
    assert opened.exit_code == 0 and b"Subject: Your statement" in opened.stdout_bytes
    console_password = lines["Console"].split("password ")[1].rstrip(")").strip()
    from webcrypt.base import config as config_mod
    from webcrypt.usecases import admins
    from webcrypt.context.home import Home

    home = Home(config_mod.load(tmp_path / "demo-home" / "webcrypt.toml"))
    home.connect()
    assert admins.authenticate(home, "admin", console_password).name == "admin"
    home.close()
    again = run("demo", "--no-serve")  # a second run resets the password and encrypts afresh
    assert again.exit_code == 0 and password not in again.output
