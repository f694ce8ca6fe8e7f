"""Console settings reach the mail path, and the mail path feeds the monitor."""

import pytest

from conftest import write_settings
from gateway_support import Sink, run_pipe
from webcrypt.base import config
from webcrypt.infra import store
from webcrypt.usecases import events, monitor, settings
from webcrypt.context.home import Home
from webcrypt.edges.relay import Running, settings as relay_settings

PORT = 12731
SENDER = "service@bank.example"


@pytest.fixture
def conf(home_dir):
    path = home_dir / "webcrypt.toml"
    write_settings(path, {"mail": {"reinject": f'"smtp://127.0.0.1:{PORT}"'}})
    return path


@pytest.fixture
def sink():
    with Sink(PORT) as s:
        yield s


def console_home(conf) -> Home:
    home = Home(config.load(conf))
    home.connect()
    return home


def test_a_console_keyword_is_honoured_by_pipe_and_never_passes_in_plaintext(conf, sink):
    home = console_home(conf)
    settings.save_overrides(home, {"policy.keyword": "WebCrypt"}, actor="admin:ops")
    home.close()

    marked = b"From: service@bank.example\nSubject: WebCrypt statement\n\nconfidential figures\n"
    result = run_pipe(conf, SENDER, ["alice@example.org"], marked)
    assert result.returncode == 0, result.stderr
    assert len(sink.carriers("alice@example.org")) == 1
    assert not any(b"confidential figures" in m.data for m in sink.messages)

    old_keyword = b"From: service@bank.example\nSubject: [secure] note\n\nplain now\n"
    assert run_pipe(conf, SENDER, ["bob@example.org"], old_keyword).returncode == 0
    assert sink.carriers("bob@example.org") == [] and b"plain now" in sink.to("bob@example.org")[0].data

    sink.handler.reply = "451 4.3.0 try later"
    assert run_pipe(conf, SENDER, ["carol@example.org"], old_keyword).returncode == 75
    sink.handler.reply = None
    home = console_home(conf)
    totals = monitor.snapshot(home).totals  # counted by the mail path
    assert (totals["encrypted"], totals["passed"], totals["deferred"]) == (1, 1, 1)
    home.close()


def test_relay_counts_what_it_passes_encrypts_and_defers(conf, sink):
    import smtplib

    home = console_home(conf)
    settings.save_overrides(home, {"policy.keyword": "Confidential"}, actor="admin:ops")
    write_settings(conf, {"relay": {"listen": f'"127.0.0.1:{PORT + 1}"'}})
    home = Home(config.load(conf))
    home.connect()
    running = Running(home, relay_settings(home, None)).start()
    try:
        with smtplib.SMTP("127.0.0.1", PORT + 1) as client:
            client.sendmail(SENDER, ["carol@example.org"], b"Subject: Confidential offer\r\n\r\nsecret\r\n")
            client.sendmail(SENDER, ["dave@example.org"], b"Subject: hello\r\n\r\nopen\r\n")
            sink.handler.reply = "451 4.3.0 try later"
            with pytest.raises(smtplib.SMTPDataError):
                client.sendmail(SENDER, ["erin@example.org"], b"Subject: hello again\r\n\r\nopen\r\n")
            sink.handler.reply = None
    finally:
        running.stop()
    assert len(sink.carriers("carol@example.org")) == 1
    totals = monitor.snapshot(home).totals
    assert (totals["encrypted"], totals["passed"], totals["deferred"]) == (1, 1, 1)
    home.close()


def test_counting_never_fails_a_message(home, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no counting today")

    monkeypatch.setattr(store.Stat, "insert", broken)
    events.count(home, events.ENCRYPTED)  # swallowed: monitoring must never cost a message
