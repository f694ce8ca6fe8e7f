"""A tiny in-process WSGI client for the portal and console tests: cookies, forms, multipart;
the same over real HTTP to `webcrypt serve` nodes (``RoundRobin``, ``serving``)."""

import contextlib
import http.client
import io
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit


@dataclass
class Response:
    status: int
    headers: dict  # lower-case name -> last value
    header_list: list
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def field(self, name: str) -> str:
        match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', self.text)
        assert match, f"no field {name} on the page"
        return match.group(1)

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


@dataclass
class Client:
    app: object
    remote_addr: str = "127.0.0.1"
    cookies: dict = field(default_factory=dict)
    language: str = "en"
    https: bool = False

    def get(self, path: str, headers: dict | None = None) -> Response:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, data=None, headers: dict | None = None) -> Response:
        body = urlencode(data or {}, doseq=True).encode()
        return self.request("POST", path, body, headers, "application/x-www-form-urlencoded")

    def post_multipart(self, path: str, fields: list[tuple[str, str]], files: list[tuple[str, str, bytes]]) -> Response:
        boundary = "b" + secrets.token_hex(8)
        out = io.BytesIO()
        for name, value in fields:
            out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
            out.write(value.encode("utf-8") + b"\r\n")
        for name, filename, data in files:
            out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                      "Content-Type: application/octet-stream\r\n\r\n".encode())
            out.write(data + b"\r\n")
        out.write(f"--{boundary}--\r\n".encode())
        return self.request("POST", path, out.getvalue(), None, f"multipart/form-data; boundary={boundary}")

    def request(self, method, path, body=b"", headers=None, content_type=None) -> Response:
        parts = urlsplit(path)
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": parts.path, "QUERY_STRING": parts.query,
            "SERVER_NAME": "localhost", "SERVER_PORT": "443" if self.https else "80", "HTTP_HOST": "localhost",
            "REMOTE_ADDR": self.remote_addr, "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "https" if self.https else "http",
            "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(), "wsgi.version": (1, 0),
            "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(body)), "HTTP_ACCEPT_LANGUAGE": self.language,
        }
        if content_type:
            environ["CONTENT_TYPE"] = content_type
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        captured = {}

        def start_response(status, response_headers, exc_info=None):
            captured["status"] = int(status.split()[0])
            captured["headers"] = response_headers

        result = self.app(environ, start_response)
        body_out = b"".join(result)
        if hasattr(result, "close"):
            result.close()
        self._remember(captured["headers"])
        headers_out = {k.lower(): v for k, v in captured["headers"]}
        return Response(captured["status"], headers_out, captured["headers"], body_out)

    def _remember(self, headers) -> None:
        for name, value in headers:
            if name.lower() != "set-cookie":
                continue
            for key, morsel in SimpleCookie(value).items():
                if morsel["max-age"] == "0" or morsel.value == "" or "1970" in morsel["expires"]:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = morsel.value


class RoundRobin(Client):
    """A real HTTP client that sends each request to the next of *ports* (one port: always that node)."""

    def __init__(self, ports):
        super().__init__(app=None)
        self.ports = list(ports)
        self.turn = 0

    def request(self, method, path, body=b"", headers=None, content_type=None) -> Response:
        port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        sent = {"Accept-Language": "en", **(headers or {})}
        if content_type:
            sent["Content-Type"] = content_type
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body or None, headers=sent)
        answer = connection.getresponse()
        pairs = answer.getheaders()
        data = answer.read()
        connection.close()
        self._remember(pairs)
        return Response(answer.status, {k.lower(): v for k, v in pairs}, pairs, data)


def wait_healthy(port: int, process) -> None:
    for _ in range(100):
        if process.poll() is not None:
            raise RuntimeError(f"node on {port} exited: {process.stderr.read().decode()[-500:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"node on {port} did not become healthy")


@contextlib.contextmanager
def serving(config_path, ports, threads: int = 2):
    """`webcrypt serve` nodes on *ports*, all with the configuration at *config_path*."""
    nodes = [subprocess.Popen([sys.executable, "-m", "webcrypt", "--config", str(config_path), "serve",
                               "--listen", f"127.0.0.1:{port}", "--threads", str(threads)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for port in ports]
    try:
        for port, node in zip(ports, nodes):
            wait_healthy(port, node)
        yield nodes
    finally:
        for node in nodes:
            node.terminate()
            node.wait(timeout=10)
