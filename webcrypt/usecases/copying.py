"""Moving a site to another database (``webcrypt db copy --to URL``): a site that began on
SQLite grows into several portal nodes on PostgreSQL and takes everything with it.

Every table is copied as it is — recipients with their wrapped keys, messages with their
wrapped data keys, sessions, throttles, audit trail, administrators, console settings — so
that the same master.key opens every secure.htm sent before the move, and readers logged in
stay logged in. The source is read in one transaction (one consistent state; on SQLite,
writers wait), the target is written in one transaction and compared with the source row
by row before it commits: a copy that differs leaves the target empty, as it was.
"""

import contextlib
import itertools

from ..base import config
from ..base.errors import AlreadyExists, WebcryptError
from ..context.home import Home
from ..infra import store

BATCH = 500


def copy_to(home: Home, url: str) -> dict[str, int]:
    """Copy the connected database into the empty one at *url*; return rows per table."""
    config.check_database_url(url, "--to")
    if url == home.config.database_url:
        raise WebcryptError("--to names the database this site uses already")
    target = store.Other(url)
    try:
        return _copy_all(target, url)
    except store.IntegrityError as e:
        raise WebcryptError(f"the target refused a row: {_first_line(e)}; nothing was copied") from None
    except store.DatabaseError as e:
        if isinstance(e, store.OperationalError):
            raise store.unavailable(e) from None
        raise WebcryptError(f"the target refused a value: {_first_line(e)}; nothing was copied") from None
    finally:
        target.close()


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _copy_all(target: store.Other, url: str) -> dict[str, int]:
    _prepare(target, url)
    with contextlib.ExitStack() as transactions:
        transactions.enter_context(store.pinned_transaction())  # the source, one consistent state
        with target.bound():
            transactions.enter_context(store.pinned_transaction())  # the target: all or nothing
        counts = {model._meta.table_name: _copy(model, target) for model in store.TABLES}
        with target.bound():
            store.continue_sequences()
        _verify(target)
    return counts


def _prepare(target: store.Other, url: str) -> None:
    """The target at this program's schema, and empty."""
    with target.bound():
        version = store.migrate()
        filled = store.filled_tables()
    if version != len(store.MIGRATIONS):
        raise WebcryptError(f"{config.shown_url(url)} has schema version {version}, this program "
                            f"{len(store.MIGRATIONS)}: copy with the newer program")
    if filled:
        raise AlreadyExists(f"{config.shown_url(url)} is not empty ({', '.join(filled)} hold rows): "
                            "webcrypt copies only into an empty database")


def _copy(model, target: store.Other) -> int:
    rows = store.table_rows(model)
    copied = 0
    while batch := list(itertools.islice(rows, BATCH)):
        with target.bound():
            store.insert_rows(model, batch)
        copied += len(batch)
    return copied


def _verify(target: store.Other) -> None:
    """Every row of every table the same in both, in the same order."""
    for model in store.TABLES:
        source = store.table_rows(model)
        with target.bound():
            copied = store.table_rows(model)
        for number, (mine, theirs) in enumerate(itertools.zip_longest(source, copied), start=1):
            if mine != theirs:
                raise WebcryptError(f"the copy differs from the source in table {model._meta.table_name}, "
                                    f"row {number}: nothing was copied")
