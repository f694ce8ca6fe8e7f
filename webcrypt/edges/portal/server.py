"""Running the portal under waitress, with limits that keep plaintext off the disk.

Behind a TLS reverse proxy, the app alone decides who the client is
(web.client_address, from ``portal.trusted_proxies``). waitress must neither rewrite
the peer address from headers nor delete them first: waitress 3 clears "untrusted"
proxy headers by default, which left the app seeing the proxy (127.0.0.1) as every
client. ``waitress_options`` pins both settings.
"""

import ctypes
import sys

from ...base.config import host_port, sqlite_path
from ...base.errors import ConfigError, KeyFileError, StoreUnavailable
from ...context.home import Home
from ...infra import store
from ...usecases import notices


def parse_listen(value: str) -> tuple[str, int]:
    try:
        return host_port(value, default_host="127.0.0.1")
    except ConfigError:
        raise ConfigError(f"listen must be HOST:PORT, not {value!r}") from None


def check_ready(home: Home) -> None:
    """Refuse to start without a usable key and database (one clear line each)."""
    if not home.config.file("keys.master_key").exists():
        raise KeyFileError(f"master key file {home.config.file('keys.master_key')} is missing: run 'webcrypt init'")
    home.keyring  # raises KeyFileError with the reason
    database = sqlite_path(home.config.database_url)
    if database is not None and not database.exists():
        raise StoreUnavailable(f"database {database} is missing: run 'webcrypt init' or 'webcrypt migrate'")
    home.connect()




def run(home: Home, listen: str | None = None, threads: int | None = None) -> None:
    import waitress

    from .app import body_limit, create_app

    check_ready(home)
    host, port = parse_listen(listen or home.config["portal.listen"])
    app = create_app(home)
    limit = body_limit(home)
    give_back_large_buffers()
    print(f"webcrypt serve: listening on http://{host}:{port}", file=sys.stderr, flush=True)
    waitress.serve(app, host=host, port=port, **waitress_options(home, threads, limit))
    notices.wait_sent()  # recovery links and notices handed to the background leave before the process ends
    store.close()


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
LARGE_BUFFER = 256 * 1024


def give_back_large_buffers() -> None:
    """Buffers from 256 KiB up (an envelope, a decrypted message) in mappings of their own,
    returned to the system when freed.

    glibc raises its mmap threshold to the largest buffer freed so far (up to 32 MiB) and its
    trim threshold with it; after one large request, buffers of tens of MB come from the heap
    and stay in the process when freed, so the next requests add up: reading one 42 MB
    message peaked at 7x its size instead of 3.4x. A fixed threshold keeps each request's peak its own.
    Nothing happens where the C library has no mallopt (musl ignores it, macOS lacks it).
    """
    try:
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, LARGE_BUFFER)
    except (OSError, AttributeError):
        pass


def waitress_options(home: Home, threads: int | None, limit: int) -> dict:
    return dict(
        threads=threads or home.config["portal.threads"],
        max_request_body_size=limit,
        # Bodies and responses stay in memory: replies and downloads hold plaintext.
        inbuf_overflow=limit + 1,
        outbuf_overflow=limit + 1,
        ident="webcrypt",
        channel_timeout=120,
        expose_tracebacks=False,
        # Proxy trust is the app's alone (web.client_address): waitress passes X-Forwarded-*
        # through untouched and never takes a client address from them.
        trusted_proxy=None,
        clear_untrusted_proxy_headers=False,
    )
