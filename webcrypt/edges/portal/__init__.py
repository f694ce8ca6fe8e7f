"""The recipient portal (bottle, served by waitress): ``create_app`` and ``serve``."""


def create_app(home=None, home_factory=None):
    from .app import create_app as build

    return build(home, home_factory)


def serve(home, listen: str | None = None, threads: int | None = None) -> None:
    """Serve the portal of *home* until interrupted (``webcrypt serve`` and ``webcrypt demo``)."""
    from .server import run

    run(home, listen, threads)
