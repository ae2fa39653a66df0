"""The REST shapes of /api/memories, spoken by the daemon and by the hub.

They follow the original project's API so that its clients keep working: `tags` may be sent as
a comma-separated string or a list. The daemon answers with a list and the UUID as `id`; the hub
answers in the original's shape (memory_hub/original.py: `id` the memory's integer id, the UUID
as `uuid`, tags as comma-joined text). The answer models read both: memoryd's HTTP-only mode and
the viewer take the UUID as the id whichever server answered.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Generic, Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from memory_core.errors import InvalidInput
from memory_core.model import check_text

LIST_LIMIT = 20  # GET /api/memories: the page a list without `limit` gets
MAX_LIST_LIMIT = 10_000

Text = Annotated[str, StringConstraints(max_length=100_000)]
IdT = TypeVar("IdT")
TagsT = TypeVar("TagsT")


def _id_text(value: Any) -> Any:
    """An id sent as a JSON number (the original's integer ids, as the hub answers them) is
    taken as its text; whoever resolves it says whether it names a memory."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


MemoryId = Annotated[str, BeforeValidator(_id_text), StringConstraints(max_length=64)]


def _absent_if_none(value: Any) -> bool:
    return value is None


def _typed(data: Any, id_field: str = "id") -> Any:
    """An answer in the hub's original shape as the typed one: its `uuid` as `id_field` (the
    original's integer `id` as `num`, which models without one ignore) and comma-joined `tags`
    as a list."""
    if not isinstance(data, dict):
        return data
    if isinstance(data.get("uuid"), str):
        number = data.get("id")
        data = {**data, id_field: data["uuid"]}
        if id_field == "id" and isinstance(number, int) and not isinstance(number, bool):
            data["num"] = number  # the integer id, kept as `num` where the model has one
    if isinstance(data.get("tags"), str):
        data = {**data, "tags": [tag for tag in data["tags"].split(",") if tag.strip()]}
    return data


class _ReadsOriginalShape(BaseModel):
    """An answer model that also reads the hub's original shape (see the module docstring)."""

    # The field the hub's `uuid` lands in: `id`, or the one that names the memory acted on.
    _uuid_field: ClassVar[str] = "id"

    @model_validator(mode="before")
    @classmethod
    def _from_original(cls, data: Any) -> Any:
        return _typed(data, cls._uuid_field)


class _IgnoresUnknownFields(BaseModel):
    """A request body. Fields this API does not know are dropped, not refused: clients written
    for the original project send some (and a newer client may send more), and a 422 would break
    them for a field we would not read anyway."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    @model_validator(mode="after")
    def _storable_text(self) -> Self:
        """Every text field, tag and filter by the one rule (memory_core.model.check_text):
        no NUL, no lone surrogate."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            for text in value if isinstance(value, list) else [value]:
                if isinstance(text, str):
                    try:
                        check_text(name, text)
                    except InvalidInput as exc:
                        raise ValueError(exc.message) from None
        return self


class MemoryIn(_IgnoresUnknownFields):
    """POST /api/memories"""

    content: Text
    category: str = "facts"
    tags: list[str] | str | None = None
    expanded_keywords: Text = ""
    importance: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    force_sensitive: bool = False
    project: str | None = None
    source: Literal["manual", "auto-learn", "import"] = "manual"
    supersedes: MemoryId | None = Field(
        default=None,
        description="The id (or a unique prefix) of an older memory this one replaces: the "
        "older one is kept for history, never ranked above this one, never injected. It must "
        "name a live memory of this user (else 422, nothing stored).",
    )


class ImportItem(MemoryIn):
    """One element of POST /api/memories/import: an export line, or a plain store body."""

    # A memoryd export's UUID, or the original project's integer id (taken as its text).
    id: Annotated[str | None, BeforeValidator(_id_text)] = None
    is_sensitive: bool = False
    created_at: str | None = None
    updated_at: str | None = None
    # An export line's typed links, `[{"id", "type"}…]` (memory_core.links.check_listed).
    links: list[Any] | None = Field(default=None, max_length=100)


class MemoryPatch(_IgnoresUnknownFields):
    """PUT /api/memories/{id}: every field optional; `project: null` clears the project."""

    content: Text | None = None
    category: str | None = None
    tags: list[str] | str | None = None
    expanded_keywords: Text | None = None
    importance: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    project: str | None = None


class RecallIn(_IgnoresUnknownFields):
    """POST /api/memories/recall"""

    context: Text
    expanded_query: Text = ""
    category: str | None = None
    project: str | None = None
    sort_by: Literal["relevance", "importance", "recency"] = "relevance"
    limit: Annotated[int, Field(ge=1, le=100)] = 10


class ListQuery(_IgnoresUnknownFields):
    """GET /api/memories?category=&tag=&project=&limit=&offset=: filters (blank: none) and a
    page of the newest changes first, on the daemon and on the hub alike."""

    category: str | None = None
    tag: str | None = None
    project: str | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_LIST_LIMIT)] = LIST_LIMIT
    offset: Annotated[int, Field(ge=0, le=10**9)] = 0
    # Hub: also the memories other users share with the caller (their `owner` says whose).
    # Exports and counts of one's own memories ask for `shared=false`.
    shared: bool = True

    @model_validator(mode="before")
    @classmethod
    def _blank_is_no_filter(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data


class GetManyIn(_IgnoresUnknownFields):
    """POST /api/memories/get: several memories' full texts at once (recall's previews name
    them)."""

    ids: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=64)]],
        Field(min_length=1, max_length=100),
    ]


class StoredOut(_ReadsOriginalShape):
    """201 (or 200 when it was a duplicate) from POST /api/memories."""

    id: str
    category: str
    importance: float
    is_sensitive: bool
    # Only in the 200 for a duplicate: the id of the memory that was already stored.
    duplicate_of: str | None = Field(default=None, exclude_if=_absent_if_none)
    # The daemon's short integer id of the memory (see MemoryOut.num).
    num: int | None = Field(default=None, exclude_if=_absent_if_none)


class ShownMemory(BaseModel, Generic[IdT, TagsT]):
    """The fields every answer that shows a memory carries, whichever server answers: the
    daemon's shape (MemoryOut: the UUID as `id`, a list of tags) and the original's, as the
    hub answers (memory_hub.answers.HubMemoryOut: an integer `id`, comma-joined tags)."""

    id: IdT
    content: str
    category: str
    tags: TagsT
    expanded_keywords: str
    importance: float
    is_sensitive: bool
    project: str | None
    source: str
    created_at: str
    updated_at: str


class MemoryOut(_ReadsOriginalShape, ShownMemory[str, list[str]]):
    # The older memory this one replaced, if any (that one ranks below this one).
    supersedes: str | None = None
    # The daemon's short integer id (`memory show 42`): local to the machine, unlike `id`.
    num: int | None = Field(default=None, exclude_if=_absent_if_none)
    # Whose it is when it is another user's, shared with the caller (the hub says so, and
    # memoryd passes it on in HTTP-only mode); absent for the caller's own.
    shared_by: str | None = Field(default=None, exclude_if=_absent_if_none)


class ScoredMemoryOut(MemoryOut):
    score: float


class RecallOut(BaseModel):
    memories: list[ScoredMemoryOut]


class GetManyOut(BaseModel):
    """The memories found, in the order asked, and the ids that name no live memory of this
    user (unknown, deleted, malformed or an ambiguous prefix)."""

    memories: list[MemoryOut]
    not_found: list[str]


class ListOut(BaseModel):
    memories: list[MemoryOut]
    total: int


class UpdatedOut(_ReadsOriginalShape):
    _uuid_field = "updated"

    updated: str
    memory: MemoryOut


class DeletedOut(_ReadsOriginalShape):
    _uuid_field = "deleted"

    deleted: str
    preview: str


class SecretOut(_ReadsOriginalShape):
    id: str
    content: str
    is_sensitive: bool


class ImportOut(BaseModel):
    imported: int
    duplicates: int
    existing: int
    memories: list[dict[str, Any]]
    # Daemon, with skip_invalid (always for an original database): the items not imported,
    # each with where it came from (`row`, `line` or `item`), `reason` and `code`. The hub
    # (`?report=1`): each with `item`, the `id` it was sent with, `reason` and `code`.
    rejected: list[dict[str, Any]] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _from_original(cls, data: Any) -> Any:
        """The hub answers the original's list of results, one per item with its `status`
        (or, with `?report=1`, this object holding those entries and the rows it skipped)."""
        if isinstance(data, dict) and isinstance(data.get("memories"), list):
            return {**data, "memories": [_typed(item) for item in data["memories"]]}
        if not isinstance(data, list):
            return data
        results = [_typed(item) for item in data]
        statuses = [item.get("status") if isinstance(item, dict) else None for item in results]
        return {
            "imported": statuses.count("imported"),
            "duplicates": statuses.count("duplicate"),
            "existing": statuses.count("exists"),
            "memories": results,
        }


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    protocol: int
    pid: int
    db: str
    # HTTP-only mode: the hub's count, or None when the hub could not say (then `hub` says why).
    memories: int | None
    mode: str
    # Only in HTTP-only mode: "ok", or why the hub could not be asked.
    hub: str | None = Field(default=None, exclude_if=_absent_if_none)
    # Only while a large database's integrity check runs after start-up ("checking"), or once
    # it failed ("failed: ..."; writes are then refused).
    integrity: str | None = Field(default=None, exclude_if=_absent_if_none)


class StatsOut(BaseModel):
    """GET /api/stats. A server adds its own fields (the daemon `db_bytes` and `learning`, the
    hub `head_seq`); they pass through."""

    model_config = ConfigDict(extra="allow")

    total: int
    sensitive: int
    deleted: int
    by_category: dict[str, int]
    by_project: dict[str, int]
    by_source: dict[str, int]


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody
