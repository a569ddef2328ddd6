"""A real threaded HTTP server around an app, a minimal browser for it, and an HTML form
reader: what the double-submit and fuzz tests need to act like a user with real
concurrency (separate connections, threads, database sessions and commits)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.client import HTTPConnection
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask
from werkzeug.serving import make_server


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve the app on a free port with a thread per request; yields "host:port"."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def session_cookie(app: Flask, token: str | None) -> str:
    """The signed session cookie of a logged-in browser (a real server-side session)."""
    data: dict[str, Any] = {"_user_id": token, "_fresh": True} if token else {}
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert serializer is not None
    return f"{app.config['SESSION_COOKIE_NAME']}={serializer.dumps(data)}"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


@dataclass
class Browser:
    """Keeps one cookie jar; every request on a new connection (so threads can share it)."""

    address: str
    cookies: dict[str, str] = field(default_factory=dict)

    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def set_cookie(self, pair: str) -> None:
        name, _, value = pair.partition("=")
        self.cookies[name] = value

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        ready: threading.Barrier | None = None,
        keep_cookies: bool = True,
    ) -> Answer:
        connection = HTTPConnection(self.address, timeout=120)
        all_headers = {"Cookie": self._cookie_header(), **(headers or {})}
        try:
            connection.connect()
            if ready is not None:
                ready.wait()  # every thread sends at the same moment
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
            answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
            if keep_cookies:
                for name, value in response.getheaders():
                    if name.lower() == "set-cookie":
                        self.set_cookie(value.split(";", 1)[0])
            return answer
        finally:
            connection.close()

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(
        self,
        path: str,
        fields: list[tuple[str, str]],
        *,
        referrer: str | None = None,
        ready: threading.Barrier | None = None,
    ) -> Answer:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if referrer:
            headers["Referer"] = f"http://{self.address}{referrer}"
        return self.request(
            "POST",
            path,
            urlencode(fields).encode(),
            headers,
            ready=ready,
            keep_cookies=False,
        )


# --- forms ------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    enctype: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    selects: dict[str, list[str]] = field(default_factory=dict)
    checkboxes: dict[str, list[str]] = field(default_factory=dict)

    def filled(self, **values: str | list[str]) -> list[tuple[str, str]]:
        """The fields a browser would send, with `values` replacing or adding fields."""
        sent = [(k, v) for k, v in self.fields if k not in values]
        for name, value in values.items():
            for item in value if isinstance(value, list) else [value]:
                sent.append((name, item))
        return sent


class _FormReader(HTMLParser):
    def __init__(self, page_path: str) -> None:
        super().__init__()
        self.page_path = page_path
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = a.get("action") or self.page_path
            self._form = Form(
                action=urlsplit(action).path
                + (f"?{urlsplit(action).query}" if "?" in action else ""),
                method=(a.get("method") or "get").lower(),
                enctype=a.get("enctype") or "application/x-www-form-urlencoded",
            )
            self.forms.append(self._form)
            return
        form = self._form
        if form is None or "name" not in a or "disabled" in a:
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                form.checkboxes.setdefault(name, []).append(a.get("value", "on"))
                if "checked" in a:
                    form.fields.append((name, a.get("value", "on")))
                return
            form.fields.append((name, a.get("value", "")))
        elif tag == "select":
            self._select, self._select_value, self._select_first = name, None, None
            form.selects[name] = []
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            form.selects[self._select].append(value)
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                self._select_value = value
        elif tag == "textarea":
            self._textarea, self._text = name, []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select" and self._form is not None and self._select is not None:
            value = self._select_value if self._select_value is not None else self._select_first
            if value is not None:
                self._form.fields.append((self._select, value))
            self._select = None
        elif tag == "textarea" and self._form is not None and self._textarea is not None:
            self._form.fields.append((self._textarea, "".join(self._text)))
            self._textarea = None


def read_forms(html: str, page_path: str) -> list[Form]:
    reader = _FormReader(page_path)
    reader.feed(html)
    return reader.forms


def post_forms(html: str, page_path: str) -> list[Form]:
    return [form for form in read_forms(html, page_path) if form.method == "post"]
