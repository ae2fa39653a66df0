"""Reading request bodies: bounded in size, JSON-parsed, validated into wire models."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from memory_core.errors import BadRequest, InvalidInput, PayloadTooLarge

M = TypeVar("M", bound=BaseModel)

DEFAULT_LIMIT = 256 * 1024
IMPORT_LIMIT = 256 * 1024 * 1024


async def read_bytes(request: Request, limit: int = DEFAULT_LIMIT) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, limit: int = DEFAULT_LIMIT) -> Any:
    raw = await read_bytes(request, limit)
    if not raw.strip():
        raise BadRequest("request body is empty; send a JSON object")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
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
