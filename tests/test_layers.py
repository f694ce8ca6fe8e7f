"""Keep the layers of DESIGN.md honest: who may import which library and which module."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "webcrypt"

# Third-party (and I/O) libraries, each owned by one place.
OWNERS = {
    "Crypto": ("crypto.py",),
    "peewee": ("store.py",),
    "playhouse": ("store.py",),
    "bottle": ("portal/",),
    "waitress": ("portal/",),
    "typer": ("cli/",),
    "rich": ("cli/",),
    "aiosmtpd": ("relay.py",),
    "subprocess": ("mailer.py", "store.py"),  # sendmail; pg_dump
    "smtplib": ("mailer.py",),
    "nh3": ("sanitise.py", "reading.py", "portal/"),
}
PURE = ("policy.py", "envelope.py", "mime.py", "crypto.py", "addresses.py", "texts.py")
IO_AND_ABOVE = {"store", "mailer", "keys", "home", "accounts", "gateway", "cli", "portal", "relay", "pipe"}
TOP = {"cli", "portal", "relay", "pipe"}


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py"))


def imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: webcrypt-internal
                base = node.module or ""
                names |= {f".{base}.{a.name}".replace("..", ".") if not base else f".{base}" for a in node.names}
            elif node.module:
                names.add(node.module)
    return names


def rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


@pytest.mark.parametrize("path", modules(), ids=rel)
def test_libraries_are_owned_by_one_module(path):
    for name in imported_names(path):
        top = name.split(".")[0]
        owners = OWNERS.get(top)
        if owners:
            assert any(rel(path) == o or rel(path).startswith(o) for o in owners if o), (
                f"{rel(path)} imports {top}, which belongs to {', '.join(owners)}")


@pytest.mark.parametrize("path", [PACKAGE / p for p in PURE if (PACKAGE / p).exists()], ids=rel)
def test_pure_modules_do_no_io(path):
    internal = {n.lstrip(".").split(".")[0] for n in imported_names(path) if n.startswith(".")}
    assert not internal & IO_AND_ABOVE, f"{rel(path)} imports {internal & IO_AND_ABOVE}"


@pytest.mark.parametrize("path", modules(), ids=rel)
def test_nothing_below_the_top_imports_the_top(path):
    if rel(path).split("/")[0].removesuffix(".py") in TOP | {"main.py", "__main__"} or rel(path) in ("main.py", "__main__.py"):
        return
    internal = {n.lstrip(".").split(".")[0] for n in imported_names(path) if n.startswith(".")}
    assert not internal & TOP, f"{rel(path)} imports {internal & TOP}"


def test_pipe_path_imports_no_cli_or_web_libraries():
    code = ("import sys, webcrypt.main, webcrypt.gateway; "
            "import importlib.util; "
            "sys.modules.get('webcrypt.pipe') or (importlib.util.find_spec('webcrypt.pipe') and __import__('webcrypt.pipe')); "
            "print(sorted(m for m in ('typer', 'rich', 'bottle', 'waitress', 'aiosmtpd', 'nh3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
