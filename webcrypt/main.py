"""Entry point: ``pipe`` is dispatched before typer and rich are imported,
because their import time would be paid by every message the MTA hands over."""

import sys


def main(argv: list[str] | None = None) -> int:
    process_entry = argv is None
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["pipe"] or argv[2:3] == ["pipe"] and argv[0] in ("-c", "--config"):
        from .edges.pipe import main as pipe_main

        return pipe_main(argv, whole_process=process_entry)
    from .edges.cli import main as cli_main

    return cli_main(argv)
