"""Clients of the portal from outside this machine, for tests through the real front end.

``Outside()`` makes a network namespace joined to this one by a veth pair: the host
side is 198.51.100.1, the "internet" side holds 198.51.100.10-19 (TEST-NET-2: no
loopback, no private range, so neither /admin's nor /metrics' default networks admit
it). Code runs there as ``python3 tests/outside.py COMMAND ...`` under
``ip netns exec``; the same functions serve clients on loopback in-process.

Commands (each prints one JSON value):
  status SOURCE URL                          -> HTTP status of a GET
  forged SOURCE URL CLAIMED                  -> the same, with X-Forwarded-For: CLAIMED
  login SOURCE BASE ADDRESS PASSWORD [N]     -> statuses of N login attempts
"""

import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import urllib.parse
from http.cookies import SimpleCookie

HOST_SIDE = "198.51.100.1"
ADDRESSES = [f"198.51.100.{n}" for n in range(10, 20)]


class Outside:
    def __init__(self, name: str = f"wc-out-{os.getpid()}"):
        self.name = name
        self.host_link, self.peer_link = f"{name[:10]}-h", f"{name[:10]}-p"

    @staticmethod
    def available() -> bool:
        return os.geteuid() == 0 and shutil.which("ip") is not None

    def __enter__(self) -> "Outside":
        self._ip("netns", "add", self.name)
        try:
            self._ip("link", "add", self.host_link, "type", "veth", "peer", "name", self.peer_link)
            self._ip("link", "set", self.peer_link, "netns", self.name)
            self._ip("addr", "add", f"{HOST_SIDE}/24", "dev", self.host_link)
            self._ip("link", "set", self.host_link, "up")
            for address in ADDRESSES:
                self._ip("-n", self.name, "addr", "add", f"{address}/24", "dev", self.peer_link)
            self._ip("-n", self.name, "link", "set", self.peer_link, "up")
            self._ip("-n", self.name, "link", "set", "lo", "up")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(["ip", "link", "del", self.host_link], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)

    def run(self, *args: str):
        """A command of this file, run in the namespace; its JSON answer."""
        result = subprocess.run(["ip", "netns", "exec", self.name, sys.executable, __file__, *map(str, args)],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        return json.loads(result.stdout)

    @staticmethod
    def _ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


class Browser:
    """An HTTPS client with cookies, connecting from a chosen source address."""

    def __init__(self, base: str, source: str = ""):
        parts = urllib.parse.urlsplit(base)
        self.host, self.port, self.source = parts.hostname, parts.port or 443, source
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
        context = ssl._create_unverified_context()  # the appliance's self-signed certificate
        connection = http.client.HTTPSConnection(self.host, self.port, context=context, timeout=60,
                                                 source_address=(self.source, 0) if self.source else None)
        headers = {**(headers or {}), "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            connection.close()

    def login(self, address: str, password: str) -> int:
        _, page = self.request("GET", "/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        status, _ = self.request("POST", "/login", {"csrf": csrf, "address": address, "password": password})
        return status


def status(source: str, url: str) -> int:
    parts = urllib.parse.urlsplit(url)
    return Browser(url, source).request("GET", parts.path or "/")[0]


def forged(source: str, url: str, claimed: str) -> int:
    """A GET whose X-Forwarded-For claims to come from *claimed*."""
    parts = urllib.parse.urlsplit(url)
    return Browser(url, source).request("GET", parts.path or "/", headers={"X-Forwarded-For": claimed})[0]


def login(source: str, base: str, address: str, password: str, count: str = "1") -> list[int]:
    """*count* attempts, each with a fresh form; '{n}' in *address* numbers them."""
    browser = Browser(base, source)
    return [browser.login(address.format(n=n), password) for n in range(int(count))]


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    print(json.dumps({"status": status, "forged": forged, "login": login}[command](*arguments)))
