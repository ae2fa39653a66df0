"""Reading request bodies: bounded in size, JSON-parsed, validated into wire models.

Bounded in shape too: no body or query is nested deeper than MAX_JSON_DEPTH (every request
the servers take is a few levels deep; a deeper one would only reach Python's recursion limit
somewhere later), and an integer past Python's 4,300-digit conversion limit is a 400 here
rather than a 500 wherever it is read.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from memory_core.errors import BadRequest, InvalidInput, PayloadTooLarge

M = TypeVar("M", bound=BaseModel)

DEFAULT_LIMIT = 256 * 1024
IMPORT_LIMIT = 256 * 1024 * 1024
MAX_JSON_DEPTH = 64


# A body over the limit but under this is read to its end before the 413 (see _drain).
DRAIN_LIMIT = 8 * 1024 * 1024


async def read_bytes(request: Request, limit: int = DEFAULT_LIMIT) -> bytes:
    declared = request.headers.get("content-length")
    stream = request.stream()
    if declared and declared.isdigit() and int(declared) > limit:
        if int(declared) <= DRAIN_LIMIT:
            await _drain(stream, 0)
        raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            await _drain(stream, size)
            raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _drain(stream: AsyncIterator[bytes], size: int) -> None:
    """Read and drop the rest of a body that is too large, up to DRAIN_LIMIT: a client still
    sending when the answer comes gets a reset connection instead of the 413 that says why
    (the original project's urllib client, Python's http.client). A larger body is refused
    at once; its client gets the reset. `size`: the bytes read so far."""
    async for chunk in stream:
        size += len(chunk)
        if size > DRAIN_LIMIT:
            return


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether `data` nests containers deeper than `limit`: iterative, so any depth is safe."""
    if not isinstance(data, dict | list):
        return False
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def parse_json(raw: bytes) -> Any:
    """A request body's JSON, or a 400 that says what is wrong with it."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest(f"request body nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:  # the only other: an integer over Python's 4,300-digit limit
        raise BadRequest("request body holds a number of more than 4,300 digits") from None
    # Counting brackets costs next to nothing and clears every body but imports.
    brackets = raw.count(b"[") + raw.count(b"{")
    if brackets > MAX_JSON_DEPTH and _deeper_than(data, MAX_JSON_DEPTH):
        raise BadRequest(f"request body nests deeper than {MAX_JSON_DEPTH} levels")
    return data


async def read_json(request: Request, limit: int = DEFAULT_LIMIT) -> Any:
    raw = await read_bytes(request, limit)
    if not raw.strip():
        raise BadRequest("request body is empty; send a JSON object")
    return parse_json(raw)


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        # A model's own check names its field in its message.
        message = err["msg"].removeprefix("Value error, ")
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def validate(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise InvalidInput("request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(validation_message(exc)) from None


async def read_model(request: Request, model: type[M], limit: int = DEFAULT_LIMIT) -> M:
    return validate(model, await read_json(request, limit))


def read_query(request: Request, model: type[M]) -> M:
    """The query string validated into a wire model (a repeated name: its last value)."""
    return validate(model, dict(request.query_params))


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    """A bounded integer query parameter, or a 422 that says what was wrong."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer (got {raw!r})") from None
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be between {low} and {high} (got {value})")
    return value
