"""The administrator's command line: thin commands over the core library.

Each command opens the home, calls one use case and renders the result.
WebcryptError becomes one line on stderr and the error's exit status here,
and nowhere else. The only package that imports typer and rich.

The commands live in modules by subject; importing them registers them on ``app``.
"""

# Importing a module registers its commands; this order is the order of `webcrypt --help`.
from . import home_commands  # noqa: F401, I001
from . import mail_commands  # noqa: F401
from . import message_commands  # noqa: F401
from . import monitor_commands  # noqa: F401
from . import user_commands  # noqa: F401
from . import db_commands  # noqa: F401
from .base import app, main

__all__ = ["app", "main"]
