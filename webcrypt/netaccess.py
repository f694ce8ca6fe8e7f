"""Who may reach /metrics and /admin: client networks and bearer tokens (pure)."""

import ipaddress

from . import crypto


def in_networks(client: str, networks: list[str]) -> bool:
    """Is *client* (an IP address) inside one of *networks* (CIDR)? Unparsable: no."""
    try:
        address = ipaddress.ip_address(client.strip().removeprefix("::ffff:"))
    except ValueError:
        return False
    for network in networks:
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


def bearer_matches(authorization: str, token: str) -> bool:
    """An ``Authorization: Bearer <token>`` header naming *token* (never when no token is set)."""
    scheme, _, given = (authorization or "").strip().partition(" ")
    return bool(token) and scheme.lower() == "bearer" and crypto.same(given.strip().encode(), token.encode())


def metrics_allowed(config, client: str, authorization: str) -> bool:
    return bearer_matches(authorization, config["monitor.metrics_token"]) or in_networks(
        client, config["monitor.metrics_networks"]
    )


def admin_allowed(config, client: str) -> bool:
    networks = config["admin.networks"]
    return not networks or in_networks(client, networks)
