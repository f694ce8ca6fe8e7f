"""Who the client is: decided once, by the app, from the trusted proxy's X-Forwarded-For.

The pure rule (netaccess.client_behind), the configuration's checks, and the real
waitress under `webcrypt serve`: waitress must hand the forwarding headers to the app
untouched (waitress 3 deletes them by default, which made every client behind the
proxy look like the proxy). Through the installed nginx and Apache: test_appliance.py.
"""

import http.client
import json
import re
import subprocess
import sys

import pytest

from conftest import write_settings
from portal_client import serving
from webcrypt.base import config
from webcrypt.core import netaccess
from webcrypt.base.errors import ConfigError
from webcrypt.context.home import Home

PORT = 12977
PROXIES = ["127.0.0.1", "::1", "10.1.0.0/16"]


@pytest.mark.parametrize("peer, forwarded, client", [
    ("192.0.2.9", "", "192.0.2.9"),  # no proxy
    ("192.0.2.9", "198.51.100.7", "192.0.2.9"),  # not a trusted proxy: its header is ignored
    ("127.0.0.1", "198.51.100.7", "198.51.100.7"),  # nginx: replaces the header
    ("127.0.0.1", "10.9.9.9, 198.51.100.7", "198.51.100.7"),  # Apache: appends; the client forged the first
    ("127.0.0.1", "198.51.100.7, 10.1.2.3", "198.51.100.7"),  # a balancer in a trusted network before us
    ("10.1.2.3", "2001:db8::5", "2001:db8::5"),
    ("::ffff:127.0.0.1", "[2001:db8::6]", "2001:db8::6"),
    ("127.0.0.1", "", "127.0.0.1"),  # a client on the appliance itself
    ("127.0.0.1", "127.0.0.1", "127.0.0.1"),
    ("127.0.0.1", "not-an-address", "127.0.0.1"),  # a misconfigured proxy: never a client-chosen key
    ("127.0.0.1", "198.51.100.7, garbage", "127.0.0.1"),
])
def test_the_last_untrusted_hop_is_the_client(peer, forwarded, client):
    assert netaccess.client_behind(peer, forwarded, PROXIES) == client


@pytest.mark.parametrize("section, key", [("portal", "trusted_proxies"), ("admin", "networks"),
                                          ("monitor", "metrics_networks"), ("relay", "client_networks")])
def test_a_network_list_with_a_typo_is_refused_at_load(home_dir, section, key):
    path = home_dir / "webcrypt.toml"
    write_settings(path, {section: {key: '["127.0.0.1", "10.0.0.0/33"]'}})
    with pytest.raises(ConfigError, match=rf"'{section}.{key}' must list IP addresses or networks.*10.0.0.0/33"):
        config.load(path)


def get(path: str, headers: dict) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    status, body = response.status, response.read().decode()
    connection.close()
    return status, body


@pytest.fixture
def served(home_dir):
    """`webcrypt serve` (real waitress) trusting 127.0.0.1 as its proxy; the console only for 10.0.0.0/8."""
    path = home_dir / "webcrypt.toml"
    write_settings(path, {"portal": {"trusted_proxies": '["127.0.0.1"]', "secure_cookies": "false"},
                          "admin": {"networks": '["10.0.0.0/8"]'}, "monitor": {"metrics_networks": '["10.0.0.0/8"]'}})
    with serving(path, [PORT]):
        yield Home(config.load(path))


def test_waitress_hands_the_forwarded_client_to_the_app(served):
    assert get("/admin/login", {"X-Forwarded-For": "10.9.9.9"})[0] == 200
    assert get("/admin/login", {"X-Forwarded-For": "198.51.100.7"})[0] == 403
    assert get("/admin/login", {"X-Forwarded-For": "10.9.9.9, 198.51.100.7"})[0] == 403  # forged first hop
    assert get("/admin/login", {})[0] == 403  # the proxy itself is not in the console's networks
    assert get("/metrics", {"X-Forwarded-For": "10.9.9.9"})[0] == 200
    assert get("/metrics", {"X-Forwarded-For": "198.51.100.7"})[0] == 403


def test_the_audit_trail_records_the_forwarded_client(served):
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    connection.request("GET", "/login", headers={"X-Forwarded-For": "198.51.100.8"})
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    body = f"csrf={csrf}&address=someone%40example.org&password=wrong+password"
    connection.request("POST", "/login", body=body, headers={
        "X-Forwarded-For": "198.51.100.8", "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    assert connection.getresponse().status == 401
    connection.close()
    audit = subprocess.run([sys.executable, "-m", "webcrypt", "--config", str(served.config.path), "audit",
                            "--action", "login_failed", "--json"], capture_output=True, text=True)
    assert audit.returncode == 0, audit.stderr
    assert [event["client"] for event in json.loads(audit.stdout)] == ["198.51.100.8"]
