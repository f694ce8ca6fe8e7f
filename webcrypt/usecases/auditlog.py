"""Reading the audit trail (``events.audit`` writes it)."""

from ..infra import store

DEFAULT_LIMIT = 200


def query(since: int | None = None, user: str = "", action: str = "", limit: int = DEFAULT_LIMIT) -> list[dict]:
    """Audit events newest first; *user* matches the actor or the subject (part of it)."""
    rows = store.AuditEvent.select().order_by(store.AuditEvent.at.desc(), store.AuditEvent.id.desc())
    if since is not None:
        rows = rows.where(store.AuditEvent.at >= since)
    if user:
        needle = user.strip().lower()
        rows = rows.where(store.AuditEvent.actor.contains(needle) | store.AuditEvent.subject.contains(needle))
    if action:
        rows = rows.where(store.AuditEvent.action == action.strip())
    return [_as_dict(row) for row in rows.limit(limit)]


def _as_dict(row: store.AuditEvent) -> dict:
    return {
        "at": row.at,
        "actor": row.actor,
        "action": row.action,
        "subject": row.subject,
        "detail": row.detail,
        "client": row.client,
    }
