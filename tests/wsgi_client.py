"""A small in-process WSGI client with a cookie jar, for web tests without a server."""

import io
import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def field(self, name: str) -> str:
        """The value of the first hidden/input field *name* on the page."""
        match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', self.text)
        assert match, f"no field {name} on the page"
        return match.group(1)


@dataclass
class Client:
    app: object
    remote_addr: str = "127.0.0.1"
    https: bool = False
    cookies: dict = field(default_factory=dict)

    def get(self, path: str, headers: dict | None = None) -> Response:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, data: dict | None = None, headers: dict | None = None) -> Response:
        return self.request("POST", path, urlencode(data or {}).encode(), headers)

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> Response:
        parts = urlsplit(path)
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "443" if self.https else "80",
            "HTTP_HOST": "localhost",
            "REMOTE_ADDR": self.remote_addr,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "https" if self.https else "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(body)),
        }
        if method == "POST":
            environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        captured = {}

        def start_response(status, response_headers, exc_info=None):
            captured["status"] = int(status.split()[0])
            captured["headers"] = response_headers

        body_out = b"".join(self.app(environ, start_response))
        self._remember(captured["headers"])
        return Response(captured["status"], {k.lower(): v for k, v in captured["headers"]}, body_out)

    def _remember(self, headers) -> None:
        for name, value in headers:
            if name.lower() != "set-cookie":
                continue
            cookie = SimpleCookie(value)
            for key, morsel in cookie.items():
                if morsel["max-age"] == "0" or morsel.value == "" or "1970" in morsel["expires"]:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = morsel.value
