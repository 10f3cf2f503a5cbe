"""A pytest plugin for the tester container (loaded as ``-p sent_secrets``; it never runs on the host).

It wraps httpx's clients so that every secret a hidden test or probe sends to the app is written down:
the credential part of an Authorization header, headers named like keys, tokens, secrets or passwords,
cookies, and the values of body fields (JSON or form) with such names, at any depth. The harness later
looks for these values in the app's log. One JSON object per line: {"value": ..., "origin": ...}.
Values shorter than MIN_LENGTH are left out: they would match ordinary text."""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import parse_qsl

import httpx

OUT = os.environ.get("CRUCIBLE_SENT_SECRETS", "/tmp/crucible-sent-secrets.jsonl")
MIN_LENGTH = 8
SECRET_NAME = re.compile(r"(?i)(pass(word|wd)?|secret|token|api[-_]?key|credential|private[-_]?key)")
_seen: set[str] = set()


def _note(value: object, origin: str) -> None:
    text = str(value)
    if len(text) < MIN_LENGTH or text in _seen:
        return
    _seen.add(text)
    with open(OUT, "a", encoding="utf-8") as out:
        out.write(json.dumps({"value": text, "origin": origin}) + "\n")


def _walk(data: Any, where: str, field: str = "") -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{field}.{key}" if field else str(key)
            if isinstance(value, str | int) and SECRET_NAME.search(str(key)):
                _note(value, f"field {name} of {where}")
            else:
                _walk(value, where, name)
    elif isinstance(data, list):
        for item in data:
            _walk(item, where, field)


def record(request: httpx.Request) -> None:
    """Write down the secrets ``request`` carries."""
    path = request.url.path
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered == "authorization":
            _note(value.split(" ", 1)[-1], f"the Authorization header of {request.method} {path}")
        elif lowered == "cookie":
            for part in value.split(";"):
                _note(part.split("=", 1)[-1].strip(), f"a cookie sent to {path}")
        elif SECRET_NAME.search(lowered):
            _note(value, f"the {name} header of {request.method} {path}")
    body = request.content
    if not body:
        return
    kind = request.headers.get("content-type", "")
    try:
        if "json" in kind:
            _walk(json.loads(body), f"the body of {request.method} {path}")
        elif "form" in kind:
            _walk(dict(parse_qsl(body.decode())), f"the form of {request.method} {path}")
    except (ValueError, UnicodeDecodeError):
        return


def _wrap(cls: Any) -> None:
    original = cls.send

    def send(self: Any, request: httpx.Request, *args: Any, **kwargs: Any) -> Any:
        record(request)
        return original(self, request, *args, **kwargs)

    cls.send = send


_wrap(httpx.Client)
_wrap(httpx.AsyncClient)
