"""Keep the layers of DESIGN.md honest: who may import which library and which module."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "webcrypt"

# The layers of DESIGN.md, one folder each, lowest first: a module may import its own layer
# and the layers below it, never one above (function-level imports included).
LAYERS = ("base", "core", "infra", "context", "usecases", "edges")
ENTRY = ("__init__.py", "__main__.py", "main.py")  # the package's own entry points, above every layer
PURE = "core"  # bytes and values in, bytes and values out

# Third-party (and I/O) libraries, each owned by one place.
OWNERS = {
    "Crypto": ("core/crypto.py",),
    "peewee": ("infra/store.py",),
    "playhouse": ("infra/store.py",),
    "psycopg2": ("infra/store.py",),
    "bottle": ("edges/portal/",),
    "waitress": ("edges/portal/",),
    "typer": ("edges/cli/",),
    "rich": ("edges/cli/",),
    "aiosmtpd": ("edges/relay.py",),
    "subprocess": ("infra/mailer.py", "infra/store.py"),  # sendmail; pg_dump
    "smtplib": ("infra/mailer.py",),
    "nh3": ("usecases/reading.py",),
    "fido2": ("core/webauthn.py",),
    "segno": ("core/qr.py",),
}
# What a pure module may not touch even from the standard library.
IO_LIBRARIES = {"socket", "subprocess", "smtplib", "sqlite3", "http", "urllib.request", "syslog", "threading"}


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def dotted(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[str]:
    """Every module or name *path* imports, anywhere in it, as an absolute dotted name."""
    package = dotted(path) if path.name == "__init__.py" else dotted(path).rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            names += [f"{base}.{alias.name}" for alias in node.names] if not node.module or node.level else [base]
    return names


def internal_modules(path: Path) -> set[str]:
    """The webcrypt modules *path* imports (a name imported from a module counts as that module)."""
    found = set()
    for name in imports(path):
        if not name.startswith("webcrypt."):
            continue
        parts = name.split(".")
        while parts and not _exists(parts):
            parts.pop()
        if len(parts) > 1:
            found.add(".".join(parts))
    return found


def _exists(parts: list[str]) -> bool:
    base = PACKAGE.parent.joinpath(*parts)
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def layer_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return len(LAYERS)  # an entry point


def test_every_module_lives_in_a_layer_folder():
    strays = [rel(p) for p in modules() if "/" not in rel(p) and rel(p) not in ENTRY]
    assert strays == [], f"modules outside the layer folders {LAYERS}: {strays}"
    assert sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()) == sorted(LAYERS)


@pytest.mark.parametrize("path", modules(), ids=rel)
def test_libraries_are_owned_by_one_module(path):
    for name in imports(path):
        top = name.split(".")[0]
        owners = OWNERS.get(top)
        if owners:
            assert any(rel(path) == o or rel(path).startswith(o) for o in owners), (
                f"{rel(path)} imports {top}, which belongs to {', '.join(owners)}")


@pytest.mark.parametrize("path", modules(), ids=rel)
def test_imports_point_down_the_layers(path):
    here = layer_of(dotted(path))
    above = sorted(m for m in internal_modules(path) if layer_of(m) > here)
    assert above == [], f"{rel(path)} ({(LAYERS + ('entry',))[here]}) imports from a layer above: {above}"


@pytest.mark.parametrize("path", sorted((PACKAGE / PURE).glob("*.py")), ids=rel)
def test_pure_modules_do_no_io(path):
    touched = sorted(n for n in imports(path) if n in IO_LIBRARIES or n.split(".")[0] in IO_LIBRARIES)
    assert touched == [], f"{rel(path)} is pure but imports {touched}"


def test_the_import_graph_has_no_circles():
    graph = {dotted(p): internal_modules(p) - {dotted(p)} for p in modules()}
    done, path = set(), []

    def visit(module: str) -> None:
        if module in path:
            raise AssertionError("import circle: " + " -> ".join(path[path.index(module):] + [module]))
        if module in done:
            return
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if not (module.startswith(target + ".") or target == "webcrypt"):  # a package's own __init__
                visit(target)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_pipe_path_imports_no_cli_or_web_libraries():
    code = ("import sys, webcrypt.main, webcrypt.usecases.gateway; "
            "import importlib.util; "
            "sys.modules.get('webcrypt.edges.pipe') or (importlib.util.find_spec('webcrypt.edges.pipe') and __import__('webcrypt.edges.pipe')); "
            "print(sorted(m for m in ('typer', 'rich', 'bottle', 'waitress', 'aiosmtpd', 'nh3', 'fido2', 'cryptography', "
            "'segno') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_forwarding_pipe_imports_only_what_forwarding_needs():
    """`pipe` with [pipe] relay: what it imports before it knows that it forwards, and while it
    forwards (config, the SMTP client, the log line), loads no database, cryptography, mail
    parser, smtplib/ssl or dataclasses (with inspect and ast): each would be paid per message."""
    code = ("import sys, webcrypt.main, webcrypt.edges.pipe, webcrypt.base.config, webcrypt.infra.mailer, "
            "webcrypt.edges.dsn; "
            "print(sorted(m for m in ('peewee', 'webcrypt.infra.store', 'Crypto', 'webcrypt.core.crypto', 'email', "
            "'smtplib', 'ssl', 'dataclasses', 'inspect', 'ast', 'typer', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# Each table has one writer, a use case; edges never query a table themselves.
WRITERS = {
    "Recipient": "usecases/accounts.py", "Message": "usecases/messages.py", "ThreadRef": "usecases/gateway.py",
    "Session": "usecases/sessions.py", "Upload": "usecases/inbox.py", "Throttle": "usecases/throttle.py",
    "AuditEvent": "usecases/events.py", "Stat": "usecases/events.py", "Admin": "usecases/admins.py",
    "AdminRecoveryCode": "usecases/admins.py",
    "Setting": "usecases/settings.py", "RecoveryLink": "usecases/login.py", "Meta": "infra/store.py",
    "Passkey": "usecases/passkeys.py", "Ceremony": "usecases/passkeys.py",
    "MailCode": "usecases/mail_codes.py",
}
WRITES = {"create", "insert", "insert_many", "replace", "update", "delete", "get_or_create"}


def model_calls(path: Path) -> list[tuple[str, str]]:
    """(model, method) of every ``store.Model.method(...)`` call in *path*."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if (isinstance(owner, ast.Attribute) and owner.attr in WRITERS and isinstance(owner.value, ast.Name)
                    and owner.value.id == "store"):
                found.append((owner.attr, node.func.attr))
    return found


@pytest.mark.parametrize("path", modules(), ids=rel)
def test_each_table_has_one_writer(path):
    foreign = sorted({f"{model}.{method}" for model, method in model_calls(path)
                      if method in WRITES and WRITERS[model] != rel(path)})
    assert foreign == [], f"{rel(path)} writes tables another use case owns: {foreign}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "edges").rglob("*.py")), ids=rel)
def test_edges_never_query_a_table(path):
    assert model_calls(path) == [], f"{rel(path)} queries tables itself: {sorted(set(model_calls(path)))}"
