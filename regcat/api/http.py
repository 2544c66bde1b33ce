"""HTTP plumbing shared by the routes: JSON responses, conditional GET (ETag,
Last-Modified, 304), content negotiation and the error body."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import orjson
from fastapi import HTTPException, Request
from fastapi.responses import Response

JSON = "application/json"
JSONLD = "application/ld+json"
TURTLE = "text/turtle"
SSSOM = "text/tab-separated-values"
FORMATS = {"json": JSON, "jsonld": JSONLD, "ttl": TURTLE, "turtle": TURTLE, "sssom": SSSOM}


def dumps(data: Any) -> bytes:
    return orjson.dumps(data)


def error_body(status: int, message: str, **extra: Any) -> dict:
    return {"error": {"status": status, "message": message, **extra}}


def error(status: int, message: str, headers: dict | None = None) -> HTTPException:
    return HTTPException(status_code=status, detail=message, headers=headers)


def invalid(problems: list[str], loc: list[str]) -> HTTPException:
    """A 422 in FastAPI's own shape, so every 422 of the API reads the same way."""
    detail = [{"loc": loc, "msg": problem, "type": "value_error"} for problem in problems]
    return HTTPException(status_code=422, detail=detail)


def _built_datetime(built: str | None) -> datetime | None:
    if not built:
        return None
    try:
        return datetime.fromisoformat(built).replace(tzinfo=UTC)
    except ValueError:
        return None


def cached(
    request: Request,
    body: bytes,
    media_type: str,
    generation: str,
    built: str | None = None,
    headers: dict | None = None,
) -> Response:
    """A read response that a client may cache: the ETag names the index generation
    and the representation, so it changes exactly when the content can have changed."""
    tag = hashlib.sha256(
        f"{generation}\0{request.url.path}\0{request.url.query}\0{media_type}".encode()
    ).hexdigest()[:24]
    etag = f'W/"{tag}"'
    out = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept", **(headers or {})}
    modified = _built_datetime(built)
    if modified is not None:
        out["Last-Modified"] = format_datetime(modified, usegmt=True)
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {t.strip() for t in match.split(",")}
        if etag in tags or "*" in tags or etag.removeprefix("W/") in tags:
            return Response(status_code=304, headers=out)
    elif modified is not None and (since := request.headers.get("if-modified-since")):
        try:
            if modified <= parsedate_to_datetime(since):
                return Response(status_code=304, headers=out)
        except (TypeError, ValueError):
            pass  # an unparseable date is ignored, as RFC 9110 says
    return Response(content=body, media_type=media_type, headers=out)


def negotiate(request: Request, offered: tuple[str, ...], fmt: str | None = None) -> str:
    """The media type to answer with: `?format=` wins, then the Accept header (with
    q-values), then the first offered type. 406 when nothing offered is acceptable."""
    if fmt:
        media = FORMATS.get(fmt.lower())
        if media is None or media not in offered:
            names = ", ".join(k for k, v in FORMATS.items() if v in offered and k != "turtle")
            raise error(406, f"format {fmt!r} is not offered here; use one of: {names}")
        return media
    accept = request.headers.get("accept")
    if not accept:
        return offered[0]
    best, best_q = None, 0.0
    for position, part in enumerate(accept.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media, q = pieces[0].lower(), 1.0
        for param in pieces[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
                q = min(max(q, 0.0), 1.0) if q == q else 0.0  # NaN and inf are not q-values
        if media in ("*/*", "application/*", "text/*"):
            candidates = [o for o in offered if media == "*/*" or o.startswith(media[:-1])]
        else:
            candidates = [o for o in offered if o == media]
        # An exact type beats a wildcard at the same q; earlier beats later.
        rank = q - (0.0001 if "*" in media else 0) - position * 1e-7
        if candidates and q > 0 and rank > best_q:
            best, best_q = candidates[0], rank
    if best is None:
        raise error(406, f"none of the accepted types is offered; offered: {', '.join(offered)}")
    return best


def if_match_version(request: Request, kind: str, ident: str | int) -> int:
    """The version a writer last saw, from If-Match (an ETag this API gave out).
    428 without one: a write must say which version it is based on."""
    header = request.headers.get("if-match")
    if not header or header.strip() == "*":
        # `*` would match any version: exactly the blind write this rule prevents.
        raise error(
            428,
            "If-Match with the ETag you got when you read this "
            f"{kind} is required, so a change made in between is not lost",
        )
    value = header.strip().removeprefix("W/").strip('"')
    found = re.fullmatch(rf"{re.escape(f'{kind}-{ident}-v')}([0-9]{{1,9}})", value)
    if found is None:
        raise error(412, f"If-Match {header[:80]!r} is not one ETag of this {kind}")
    return int(found.group(1))


_REASONS = {
    304: "Not modified: the ETag or date you sent is current",
    400: "Bad request: a path, query or body that is not UTF-8, JSON nested too deep, …",
    401: "No token, or an unknown or revoked one",
    403: "Your role may not do this",
    404: "No such entity",
    406: "None of the accepted media types is offered",
    409: "Not possible in the current state (e.g. a decided proposal)",
    412: "If-Match names an old version: someone changed it since you read it",
    413: "Body or result too large",
    415: "Unsupported content type",
    428: "If-Match is required",
    500: "The query failed inside the SPARQL worker",
    503: "Time limit reached or no worker free",
}


def responses(*codes: int) -> dict:
    """OpenAPI declarations for the error answers an operation can give."""
    from regcat.api.schemas import ErrorBody

    out: dict = {}
    for code in codes:
        out[code] = {"description": _REASONS[code]}
        if code != 304:
            out[code]["model"] = ErrorBody
    return out
