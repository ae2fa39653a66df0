"""One table of endpoints per server: each names its method, path, handler and wire models, and
the same table gives Starlette its routes and the OpenAPI document its paths
(`memory_core.http.openapi`), so the two cannot drift apart.

A handler returns a pydantic model, answered as JSON with the endpoint's status, or a Starlette
`Response` for anything else (a stream, a 204, another status, a background task). An endpoint
declared with a `body` model reads and validates the request body before its handler runs and
passes it in: a body too large, not JSON or not valid is a 413, 400 or 422, and the handler
never sees it. A handler that must read its body itself (after authenticating the caller, with
its own limit, in a thread) names the body's model with `reads`: in the document only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, overload

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from memory_core.http.bodies import DEFAULT_LIMIT, read_model

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
Method = Literal["GET", "POST", "PUT", "DELETE"]
Answer = BaseModel | Response
Handler = Callable[[Request], Awaitable[Answer]]
BodyHandler = Callable[[Request, M], Awaitable[Answer]]


def model_response(answer: BaseModel, status: int = 200) -> JSONResponse:
    return JSONResponse(answer.model_dump(mode="json"), status_code=status)


@dataclass(frozen=True)
class Endpoint:
    method: Method
    path: str
    # The handler, with the body already read when the endpoint takes one.
    run: Handler
    # The handler's name, and the first line of its docstring.
    name: str
    summary: str
    # The body's model: read for the handler, or (`reads`) by the handler itself.
    body: type[BaseModel] | None = None
    answer: type[BaseModel] | None = None
    # The status of a model answer; a handler answering otherwise returns a Response.
    status: int = 200
    # Other success statuses the handler answers with (the same model, or nothing for a 204).
    also: tuple[int, ...] = ()
    # Query parameters the handler reads, for the document (path parameters are in `path`).
    query: tuple[str, ...] = ()

    def route(self) -> Route:
        run, status = self.run, self.status

        async def respond(request: Request) -> Response:
            answer = await run(request)
            return answer if isinstance(answer, Response) else model_response(answer, status)

        # Named as the handler: middleware that labels requests by endpoint (the hub's
        # metrics) reads the handler's name, not this wrapper's.
        respond.__name__ = respond.__qualname__ = self.name
        return Route(self.path, respond, methods=[self.method], name=self.name)


@overload
def endpoint(
    method: Method,
    path: str,
    handler: Handler,
    *,
    reads: type[BaseModel] | None = None,
    answer: type[BaseModel] | None = None,
    status: int = 200,
    also: Sequence[int] = (),
    query: Sequence[str] = (),
) -> Endpoint: ...


@overload
def endpoint(
    method: Method,
    path: str,
    handler: BodyHandler[M],
    *,
    body: type[M],
    body_limit: int = DEFAULT_LIMIT,
    answer: type[BaseModel] | None = None,
    status: int = 200,
    also: Sequence[int] = (),
    query: Sequence[str] = (),
) -> Endpoint: ...


def endpoint(
    method: Method,
    path: str,
    handler: Callable[..., Awaitable[Answer]],
    *,
    body: type[BaseModel] | None = None,
    body_limit: int = DEFAULT_LIMIT,
    reads: type[BaseModel] | None = None,
    answer: type[BaseModel] | None = None,
    status: int = 200,
    also: Sequence[int] = (),
    query: Sequence[str] = (),
) -> Endpoint:
    """An entry of the table. With `body`, the handler is called as `handler(request, body)`;
    with `reads`, as `handler(request)`, and it reads that body itself."""
    run: Handler = handler
    if body is not None:
        model = body

        async def read_then_handle(request: Request) -> Answer:
            answer: Answer = await handler(request, await read_model(request, model, body_limit))
            return answer

        run = read_then_handle
    return Endpoint(
        method,
        path,
        run,
        handler.__name__,
        summary_of(handler),
        body or reads,
        answer,
        status,
        tuple(also),
        tuple(query),
    )


def summary_of(handler: Callable[..., Any]) -> str:
    doc = (handler.__doc__ or "").strip()
    return doc.splitlines()[0].rstrip(".") if doc else handler.__name__.replace("_", " ")


def routes(endpoints: Iterable[Endpoint]) -> list[Route]:
    """Starlette's routes, in the table's order (the first route whose path matches wins)."""
    return [entry.route() for entry in endpoints]


def app_state(request: Request, name: str, kind: type[T]) -> T:
    """What the app's factory or lifespan put on `app.state` under `name`, as the handlers'
    type (a `kind` other than the one put there is a programming error, said at once)."""
    found = getattr(request.app.state, name)
    if not isinstance(found, kind):
        raise TypeError(f"app.state.{name} is a {type(found).__name__}, not a {kind.__name__}")
    return found
