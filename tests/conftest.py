"""Shared fixtures: a real home (config, key, SQLite file) per test."""

import os
import shutil
from pathlib import Path

import pytest

from webcrypt.base import config
from webcrypt.infra import store
from webcrypt.usecases import provision
from webcrypt.context.home import Home

# A copy of ../shared/corpus (licences and SOURCES.txt inside), so a clone tests alone.
CORPUS = Path(__file__).resolve().parent / "corpus"

# scrypt at full strength costs ~0.3 s a hash; tests use a lower cost (same code path).
TEST_SETTINGS = {
    "accounts": {"credentials_to": '"print"', "scrypt_log_n": "12"},
}


class Clock:
    """A clock tests move instead of sleeping."""

    def __init__(self, start: float = 1_800_000_000):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def write_settings(path: Path, settings: dict[str, dict[str, str]]) -> None:
    """Set keys (TOML literals) in a config file, replacing earlier values."""
    text = path.read_text()
    for section, values in settings.items():
        for key, literal in values.items():
            lines = text.splitlines()
            start = lines.index(f"[{section}]")
            end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
            block = [l for l in lines[start + 1:end] if not l.startswith(f"{key} =")]
            lines[start + 1:end] = [f"{key} = {literal}"] + block
            text = "\n".join(lines) + "\n"
    path.write_text(text)


def pytest_collection_modifyitems(config, items):
    """The booted appliance's tests run last, and their Debian roots are built meanwhile: from
    nothing (a clean clone) that is minutes of download and unpacking, mostly waiting on the
    network and the disk, which the rest of the suite need not wait for."""
    booted = [item for item in items if item.get_closest_marker("booted")]
    if not booted or len(booted) == len(items):
        return
    items[:] = [item for item in items if not item.get_closest_marker("booted")] + booted
    if os.geteuid() == 0 and shutil.which("debootstrap") and shutil.which("systemd-nspawn"):
        import booted_support  # only where the booted tests run
        booted_support.prepare_in_background()


def pytest_unconfigure(config):
    """A run that ends before the booted tests (-x, ^C) leaves no debootstrap behind."""
    import sys
    if "booted_support" in sys.modules:
        sys.modules["booted_support"].stop_preparing()


@pytest.fixture
def home_dir(tmp_path) -> Path:
    folder = tmp_path / "home"
    path = provision.init_home(folder, "https://portal.example.com")
    write_settings(path, TEST_SETTINGS)
    return folder


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def home(home_dir, clock):
    h = Home(config.load(home_dir / "webcrypt.toml"), clock=clock)
    h.connect()
    yield h
    h.close()


@pytest.fixture
def config_env(home_dir, monkeypatch):
    """WEBCRYPT_CONFIG pointing at the test home, for CLI tests."""
    monkeypatch.setenv("WEBCRYPT_CONFIG", str(home_dir / "webcrypt.toml"))
    return home_dir / "webcrypt.toml"


def tab_to(page, text: str, most: int = 60) -> None:
    """Press Tab in a Playwright *page* until the focus is on the element reading *text*: keyboard
    only, as someone without a mouse gets there; fails when *most* presses do not reach it."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == text:
            return
    raise AssertionError(f"{text!r} cannot be reached with the Tab key")
