"""Who a client is and what it may reach (/metrics, /admin): client networks, proxies
and bearer tokens (pure)."""

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


def parse_address(text: str) -> str | None:
    """*text* as a canonical IP address (brackets and IPv4-mapped prefixes removed), or None."""
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def client_behind(peer: str, forwarded_for: str, proxies: list[str]) -> str:
    """The client a request comes from: the connection's *peer*, or, when the peer is one of
    the trusted *proxies* (addresses or networks), the last ``X-Forwarded-For`` hop that is not
    itself a trusted proxy. Hops further left were sent by the client and may be forged;
    a proxy that appends (Apache) and one that replaces the header (nginx) both put the
    real client last. A hop that is no IP address means a misconfigured proxy: the peer."""
    peer = parse_address(peer) or peer.strip() or "unknown"
    if not in_networks(peer, proxies):
        return peer[:64]
    for hop in reversed(forwarded_for.split(",")):
        address = parse_address(hop)
        if address is None:
            break
        if not in_networks(address, proxies):
            return address
    return peer[:64]


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
