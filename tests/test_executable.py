"""The built executables (build.spec: one folder and one file) run every entry point.

They are built once into build/dist (appliance_support.built(): ~30 s on 2 cores, reused while
the sources are unchanged) and run as real processes, with no access to the source tree or
the Python environment: a missing template, translation or lazily imported module fails here.
"""

import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from appliance_support import ROOT, built, has_command
from conftest import write_settings
from gateway_support import Sink, without_crlf

SINK_PORT = 12810
SERVE_PORT = 12811
SENDER = "clerk@corp.example"
MAIL = (b"From: Clerk <clerk@corp.example>\nTo: alice@example.org\nSubject: [secure] Contract\n"
        b"Message-ID: <exe-1@corp.example>\n\nDear Alice,\nthe contract.\n\xc3\xa4\n")


@pytest.fixture(scope="module")
def builds():
    return built()


@pytest.fixture(params=["onedir", "onefile"])
def exe(request, builds) -> Path:
    return builds[request.param]


def run(exe: Path, *args, env=None, **kwargs) -> subprocess.CompletedProcess:
    # A bare environment: nothing of the developer's Python may leak into the executable.
    clean = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **(env or {})}
    return subprocess.run([str(exe), *args], env=clean, capture_output=True, timeout=120,
                          cwd="/", **kwargs)


@pytest.fixture
def exe_home(exe, tmp_path) -> Path:
    result = run(exe, "init", "--home", str(tmp_path / "home"), "--portal-url", "https://portal.example.com")
    assert result.returncode == 0, result.stderr.decode()
    conf = tmp_path / "home" / "webcrypt.toml"
    write_settings(conf, {
        "accounts": {"credentials_to": '"print"', "scrypt_log_n": "12"},
        "mail": {"reinject": f'"smtp://127.0.0.1:{SINK_PORT}"', "internal_domains": '["corp.example"]'},
    })
    return conf


def test_help_lists_the_commands(exe):
    result = run(exe, "--help")
    assert result.returncode == 0, result.stderr.decode()
    for command in ("init", "encrypt", "open", "migrate"):
        assert has_command(exe, command), result.stdout.decode()


def test_every_package_data_file_is_inside_the_one_folder_build(builds):
    """Templates, static files, translations and whatever else lands under webcrypt/ later."""
    source = ROOT / "webcrypt"
    wanted = {p.relative_to(source) for p in source.rglob("*")
              if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    bundled = builds["onedir"].parent / "_internal" / "webcrypt"
    missing = sorted(str(p) for p in wanted if not (bundled / p).is_file())
    assert wanted and not missing, missing


def test_init_writes_config_key_and_database(exe, exe_home):
    assert (exe_home.parent / "master.key").stat().st_mode & 0o777 == 0o600
    assert (exe_home.parent / "webcrypt.db").exists()
    assert b"[portal]" in exe_home.read_bytes()
    # the template, key and schema come from inside the executable
    assert run(exe, "--config", str(exe_home), "migrate").returncode == 0


def test_encrypt_then_open_returns_the_original_bytes(exe, exe_home, tmp_path):
    message = tmp_path / "letter.eml"
    message.write_bytes(MAIL)
    encrypted = run(exe, "--config", str(exe_home), "encrypt", "--from", SENDER, "--to", "alice@example.org", str(message))
    assert encrypted.returncode == 0, encrypted.stderr.decode()
    assert b"secure.htm" in encrypted.stdout and b"Dear Alice" not in encrypted.stdout
    password = encrypted.stderr.decode().rsplit("(shown once): ", 1)[1].strip()
    carrier = tmp_path / "carrier.eml"
    carrier.write_bytes(encrypted.stdout)
    opened = run(exe, "--config", str(exe_home), "open", str(carrier), "--as", "alice@example.org",
                 "--password-stdin", input=password.encode() + b"\n")
    assert opened.returncode == 0, opened.stderr.decode()
    assert opened.stdout == MAIL
    wrong = run(exe, "--config", str(exe_home), "open", str(carrier), "--as", "alice@example.org",
                "--password-stdin", input=b"not-the-password\n")
    assert wrong.returncode == 4 and wrong.stdout == b""


def test_pipe_encrypts_and_reinjects(exe, exe_home):
    created = run(exe, "--config", str(exe_home), "useradd", "alice@example.org", "--password-stdin",
                  input=b"correct horse battery staple\n")
    assert created.returncode == 0, created.stderr.decode()
    with Sink(SINK_PORT) as sink:
        result = run(exe, "--config", str(exe_home), "pipe", "-f", SENDER, "-q", "EXE1", "--",
                     "alice@example.org", input=MAIL)
        assert result.returncode == 0, result.stderr.decode()
        carriers = sink.carriers("alice@example.org")
    assert len(carriers) == 1 and b"Dear Alice" not in carriers[0].data
    assert result.stdout == b"" and b"Dear Alice" not in result.stderr
    carrier = exe_home.parent / "carrier.eml"
    carrier.write_bytes(without_crlf(carriers[0].data))
    opened = run(exe, "--config", str(exe_home), "open", str(carrier), "--as", "alice@example.org",
                 "--password-stdin", input=b"correct horse battery staple\n")
    assert opened.returncode == 0, opened.stderr.decode()
    assert opened.stdout == MAIL


def test_pipe_with_the_next_hop_down_defers(exe, exe_home):
    result = run(exe, "--config", str(exe_home), "pipe", "-f", SENDER, "--", "alice@example.org", input=MAIL)
    assert result.returncode == 75, result.stderr.decode()


def test_serve_answers_healthz(exe, exe_home):
    if not has_command(exe, "serve"):
        pytest.skip("'webcrypt serve' does not exist yet (issue 4, the portal)")
    process = subprocess.Popen([str(exe), "--config", str(exe_home), "serve", "--listen", f"127.0.0.1:{SERVE_PORT}"],
                               env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, cwd="/",
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_port(SERVE_PORT, process)
        with urllib.request.urlopen(f"http://127.0.0.1:{SERVE_PORT}/healthz", timeout=10) as response:
            assert response.status == 200
        assert_passkey_ceremony_begins(SERVE_PORT)
    finally:
        process.terminate()
        process.wait(timeout=20)


def assert_passkey_ceremony_begins(port: int) -> None:
    """The executable carries fido2 and its data (the public suffix list): a passkey sign-in begins."""
    import http.client
    import json
    import re
    import urllib.parse

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/login")
    page = connection.getresponse()
    cookie = page.getheader("Set-Cookie").split(";", 1)[0]  # Secure (https portal): sent here by hand
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.read().decode()).group(1)
    connection.request("POST", "/passkey/sign-in/options", body=urllib.parse.urlencode({"csrf": csrf}),
                       headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    answer = connection.getresponse()
    assert answer.status == 200, answer.read()[:300]
    begun = json.loads(answer.read())
    connection.close()
    assert begun["publicKey"]["rpId"] == "portal.example.com" and len(begun["publicKey"]["challenge"]) >= 43


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}: {process.stderr.read().decode()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port} after {seconds} s")
