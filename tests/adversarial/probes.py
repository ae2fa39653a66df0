"""Hostile requests to one route, as a hypothesis strategy: a valid request (its path ids,
its body built from the route's JSON schema) with one place of it replaced by a hostile value of
one kind (tests.adversarial.hostile), or, for the kind "shape", a body that is the wrong shape
altogether (a field missing or added, not an object, not JSON, not UTF-8, too large)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from tests.adversarial.hostile import encode, json_values, url, url_values

JSON = "application/json"

# Every kind of attack; "id" only where the path has a parameter.
KINDS = ("text", "surrogate", "nul", "number", "huge_int", "type", "nested", "deep", "shape", "id")
# Kinds that have no meaning in a URL: only bodies get them.
_BODY_ONLY = ("nested", "deep")


@dataclass(frozen=True)
class Operation:
    """One route: its method and path template, the query parameters it reads, a valid body
    (a JSON value) if it takes one, and a valid value for each path parameter."""

    method: str
    path: str
    query: tuple[str, ...] = ()
    body: Any = None
    path_values: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(self.path_values)


@dataclass(frozen=True)
class Probe:
    method: str
    url: str  # path and query, percent-encoded
    body: bytes | None
    content_type: str | None = JSON
    # Headers to send instead of the target's own (None: leave that header out).
    headers: tuple[tuple[str, bytes | None], ...] = ()

    def __repr__(self) -> str:  # hypothesis prints the failing example: no 200 kB reprs
        return f"Probe({self.describe()})"

    def describe(self) -> str:
        body = "no body" if self.body is None else f"{len(self.body)} bytes {self.body[:300]!r}"
        extra = "".join(f"; {name}: {value!r:.80}" for name, value in self.headers)
        return f"{self.method} {self.url[:300]} ({self.content_type}; {body}{extra})"


def documented_operation(
    document: dict[str, Any], route: str, path_values: dict[str, str], body: Any = None
) -> Operation:
    """`route` ("METHOD /path") as an OpenAPI document describes it: its query parameters, a
    valid body built from its request body's schema (unless `body` is given: one the schema
    would not make valid, or one the route reads without declaring it), and for each path
    parameter its value from `path_values`."""
    method, path = route.split(" ", 1)
    entry = document["paths"][path][method.lower()]
    params = entry.get("parameters", [])
    if body is None and "requestBody" in entry:
        schema = entry["requestBody"]["content"]["application/json"]["schema"]
        body = example_of(schema, document["components"]["schemas"])
    return Operation(
        method,
        path,
        query=tuple(p["name"] for p in params if p["in"] == "query"),
        body=body,
        path_values={p["name"]: path_values[p["name"]] for p in params if p["in"] == "path"},
    )


# ---------------------------------------------------------------------------- JSON bodies


def example_of(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A valid value of a JSON schema as pydantic writes them: every property present, each
    with its default when it has one."""
    if "$ref" in schema:
        return example_of(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "default" in schema:
        return copy.deepcopy(schema["default"])
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if o.get("type") != "null"]
        return example_of(options[0], defs) if options else None
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: example_of(sub, defs) for name, sub in props.items()}
    if kind == "array":
        return [example_of(schema.get("items", {}), defs)]
    if kind == "string":
        return "adversarial probe of this route"
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return 0.5
    if kind == "boolean":
        return False
    return None


def _places(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value (the root excluded), as paths of keys and indexes."""
    found: list[tuple[Any, ...]] = []
    children: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    for key, child in children:
        found.append((*at, key))
        found.extend(_places(child, (*at, key)))
    return found


def _objects(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The paths of every JSON object in a value, the root included."""
    found = [at] if isinstance(value, dict) else []
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in children:
        found.extend(_objects(child, (*at, key)))
    return found


def _replaced(value: Any, at: tuple[Any, ...], new: Any) -> Any:
    if not at:
        return new
    out = copy.deepcopy(value)
    holder = out
    for key in at[:-1]:
        holder = holder[key]
    holder[at[-1]] = new
    return out


def _dropped(value: Any, at: tuple[Any, ...]) -> Any:
    out = copy.deepcopy(value)
    holder = out
    for key in at[:-1]:
        holder = holder[key]
    del holder[at[-1]]
    return out


# --------------------------------------------------------------------------- the strategy

ODD_NAMES = ("", "__proto__", "constructor", "\x00", "a" * 1000, "content ", "CONTENT", "\ud800")
RAW_BODIES = (
    b"",
    b" ",
    b"{",
    b'{"content":',
    b"\xff\xfe\x00",
    b"\xed\xa0\x80",
    b"\xef\xbb\xbf{}",
    b"null",
    b"NaN",
    b'{"a":1}{"a":2}',
    b'{"content":"a","content":"b"}',
    b"SQLite format 3\x00" + b"\x00" * 200,
    b"x" * (300 * 1024),
    b'{"content":"' + b"y" * (300 * 1024) + b'"}',
)
CONTENT_TYPES = (
    None,
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/vnd.sqlite3",
    "application/json; charset=latin-1",
)
_WRONG_ROOTS: tuple[Any, ...] = ([], "s", 0, None, True, [[]])


def probes(op: Operation, kind: str) -> st.SearchStrategy[Probe]:
    """Requests to `op` with one hostile value of `kind`."""
    if kind == "shape":
        return _shapes(op)
    places: list[st.SearchStrategy[Probe]] = []
    if op.body is not None and kind != "id":
        spots = _places(op.body) + ([()] if kind == "type" else [])
        if spots:
            places.append(
                st.builds(
                    lambda at, new, raw: valid_probe(
                        op, body=encode(_replaced(op.body, at, new), raw)
                    ),
                    st.sampled_from(spots),
                    json_values(kind),
                    st.booleans() if kind == "surrogate" else st.just(False),
                )
            )
    elif kind != "id":  # a body the route does not read must be ignored, whatever it is
        garbage = json_values(kind) if kind != "shape" else st.nothing()
        places.append(garbage.map(lambda new: valid_probe(op, body=encode({"content": new}))))
    if kind not in _BODY_ONLY:
        names = op.path_params if kind == "id" else (*op.path_params, *op.query, "unasked")
        real = next(iter(op.path_values.values()), None)
        if names:
            places.append(
                st.builds(
                    lambda name, new: valid_probe(op, **{name: new}),
                    st.sampled_from(names),
                    url_values(kind, real),
                )
            )
    return st.one_of(places)


def valid_probe(op: Operation, body: bytes | None = None, **hostile: str) -> Probe:
    """A request to `op`: its valid body unless `body` is given, its valid path values except
    those in `hostile` (percent-encoded), and the other `hostile` values as query parameters."""
    path = op.path
    for name, value in op.path_values.items():
        path = path.replace("{" + name + "}", hostile.pop(name, url(value)))
    query = "&".join(f"{name}={value}" for name, value in hostile.items())
    if body is None and op.body is not None:
        body = encode(op.body)
    return Probe(op.method, path + (f"?{query}" if query else ""), body)


def _shapes(op: Operation) -> st.SearchStrategy[Probe]:
    base = op.body if op.body is not None else {"content": "a body nobody asked for"}
    options: list[st.SearchStrategy[Probe]] = [
        st.sampled_from(RAW_BODIES).map(lambda raw: _raw(op, raw, JSON)),
        st.sampled_from(_WRONG_ROOTS).map(lambda root: valid_probe(op, body=encode(root))),
        st.sampled_from(CONTENT_TYPES).map(lambda ctype: _raw(op, encode(base), ctype)),
    ]
    keyed = [at for at in _places(base) if not isinstance(at[-1], int)]
    if keyed:
        options.append(
            st.sampled_from(keyed).map(lambda at: valid_probe(op, body=encode(_dropped(base, at))))
        )
    objects = _objects(base)
    if objects:
        options.append(
            st.builds(
                lambda at, name, new: valid_probe(
                    op,
                    body=encode(_replaced(base, (*at, name), new) if at else {**base, name: new}),
                ),
                st.sampled_from(objects),
                st.sampled_from(ODD_NAMES),
                json_values("type"),
            )
        )
    if op.query:  # the same parameter twice, the second one wrong
        options.append(
            st.sampled_from(op.query).map(
                lambda name: Probe(
                    op.method, valid_probe(op).url + f"?{name}=1&{name}=%FF", encode(base)
                )
            )
        )
    return st.one_of(options)


def _raw(op: Operation, body: bytes, content_type: str | None) -> Probe:
    return Probe(op.method, valid_probe(op).url, body, content_type)
