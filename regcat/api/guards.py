"""An ASGI middleware that refuses hostile requests before any route sees them:
oversized bodies (413), JSON nested deeper than any real document (400), bodies and
query strings that are not UTF-8 (400). A refused request changes nothing."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import orjson

BODY_METHODS = {b"POST", b"PUT", b"PATCH", b"DELETE"}


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """True when brackets nest deeper than `limit` (strings skipped), checked before
    parsing so a 100,000-deep array never reaches a recursive parser."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


async def _refuse(send, status: int, message: str) -> None:
    body = orjson.dumps({"detail": message})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Guards:
    def __init__(self, app, max_body: int, max_depth: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_depth = max_depth

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        raw_path = scope.get("raw_path") or b""
        if b"%" in raw_path:
            try:
                unquote_to_bytes(raw_path).decode("utf-8")
            except UnicodeDecodeError:
                return await _refuse(send, 400, "the path is not UTF-8")
        query = scope.get("query_string", b"")
        if b"%" in query or any(b > 0x7F for b in query):
            try:
                unquote_to_bytes(query.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError:
                return await _refuse(send, 400, "the query string is not UTF-8")
        if scope["method"].encode() not in BODY_METHODS:
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                return await _refuse(send, 400, "Content-Length is not a number")
            if declared > self.max_body:
                return await _refuse(send, 413, f"request body over {self.max_body} bytes")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return await _refuse(send, 413, f"request body over {self.max_body} bytes")
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if body and (media.endswith(b"json") or media == b"application/sparql-query"):
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as exc:
                return await _refuse(send, 400, f"the body is not UTF-8 (byte {exc.start})")
            if media.endswith(b"json") and json_depth_exceeds(body, self.max_depth):
                return await _refuse(send, 400, f"JSON nested deeper than {self.max_depth} levels")
            if media.endswith(b"json") and b"\\u" in body:
                # Python's json accepts an escaped lone surrogate, which no database
                # can store; orjson refuses it. Other JSON errors stay FastAPI's 422.
                try:
                    orjson.loads(body)
                except orjson.JSONDecodeError as exc:
                    if "surrogate" in str(exc):
                        return await _refuse(
                            send, 400, "the JSON has a lone surrogate escape (U+D800 to U+DFFF)"
                        )
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)
