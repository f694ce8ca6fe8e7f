"""Failures found by following the documentation step by step as a new administrator."""

from typer.testing import CliRunner

from webcrypt.edges import cli


def run(*args, input=None):
    return CliRunner().invoke(cli.app, list(args), input=input, catch_exceptions=False)


def test_settings_show_prints_the_default_keyword_with_its_brackets(config_env):
    # Rich reads "[secure]" in a table cell as a markup tag and prints nothing for it.
    result = run("settings", "show")
    assert result.exit_code == 0
    row = next(line for line in result.stdout.splitlines() if "policy.keyword" in line)
    assert row.count("[secure]") == 2  # the file's value and the value in effect


def test_demo_again_with_another_listen_address_serves_and_writes_that_address(tmp_path, monkeypatch):
    # README: `webcrypt demo [--home DIR] [--listen HOST:PORT]`; a second run on another
    # port must not print (and write into secure.htm) the port of the first run.
    monkeypatch.chdir(tmp_path)
    assert run("demo", "--no-serve").exit_code == 0
    again = run("demo", "--no-serve", "--listen", "127.0.0.1:18082")
    assert again.exit_code == 0, again.output
    assert "http://127.0.0.1:18082" in again.output
    secure_htm = tmp_path / "demo-home" / "out" / "secure.htm"
    assert 'action="http://127.0.0.1:18082/open"' in secure_htm.read_text()
