"""The hub's answers as models, for its OpenAPI document (memory_hub.endpoints). The handlers
shape them as plain JSON (memory_hub.original: the original project's shapes, integer `id`,
comma-joined `tags`), so these models describe what is sent and never build it; the hub's tests
check every answer against them. Answers the hub shares with memoryd (stats, sync, sharing's
own shapes) keep their models in memory_core.wire.

Named `Hub...` because one document keys its schemas by model name: never the same name as a
memory_core.wire model it also lists."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, RootModel

from memory_core.wire.rest import ImportItem, ShownMemory
from memory_core.wire.sharing import Permission

OwnId = Field(description="The memory's integer id among its owner's memories")
ShownId = Field(
    description="The caller's own memory: its integer id; another user's memory shared with "
    "the caller: its UUID (integer ids are per owner)"
)


class HubHealthOut(BaseModel):
    """200 when the database answers, else 503 with `db` saying why."""

    status: Literal["ok", "unavailable"]
    db: str
    version: str


class HubAuthCheckOut(BaseModel):
    status: Literal["ok"]
    user_id: str


class HubLinkedOut(BaseModel):
    """One end of a link, seen from the other."""

    id: int = OwnId
    uuid: str
    type: str


class HubLinkOut(BaseModel):
    """A link in the original's shape: the two memories' integer ids, their UUIDs beside."""

    src_id: int = OwnId
    dst_id: int = OwnId
    link_type: str
    src_uuid: str
    dst_uuid: str


class HubUnlinkOut(BaseModel):
    unlinked: HubLinkOut


class HubLinksOut(BaseModel):
    """A memory's links: to the live memories it links to, and from those linking to it."""

    id: int = OwnId
    uuid: str
    links_out: list[HubLinkedOut]
    links_in: list[HubLinkedOut]


class HubMemoryOut(ShownMemory[int | str, str]):
    """A memory in the original's shape (memory_hub.original.memory)."""

    id: int | str = ShownId
    tags: str = Field(description="The tags, comma-joined, as the original stores them")
    uuid: str
    supersedes: str | None
    owner: str
    # Only on another user's memory shared with the caller.
    shared_by: str | None = None
    # Only on a shared memory read by its id or listed in shared-with-me.
    permission: Permission | None = None
    secret_get: bool | None = None
    # Only on GET /api/memories/{id} of the caller's own memory: its links, as
    # GET /api/memories/{id}/links answers them.
    links_out: list[HubLinkedOut] | None = None
    links_in: list[HubLinkedOut] | None = None


class HubScoredMemoryOut(HubMemoryOut):
    score: float


class HubFedMemoryOut(HubMemoryOut):
    deleted_at: str | None = Field(description="When it was deleted; null while it lives")


class HubStoredOut(BaseModel):
    """The original's answer to a store (200), our `uuid` and `is_sensitive` beside it."""

    id: int = OwnId
    uuid: str
    category: str
    importance: float
    is_sensitive: bool


class HubListOut(BaseModel):
    memories: list[HubMemoryOut]
    total: int


class HubRecallOut(BaseModel):
    memories: list[HubScoredMemoryOut]


class HubFeedOut(BaseModel):
    """The original's sync feed; `next` only when the caller pages it with `limit`."""

    memories: list[HubFedMemoryOut]
    server_time: str
    next: str | None = None


class HubUpdatedOut(BaseModel):
    updated: int | str = ShownId
    uuid: str
    memory: HubMemoryOut


class HubDeletedOut(BaseModel):
    deleted: int = OwnId
    uuid: str
    preview: str


class HubSecretOut(BaseModel):
    id: int | str = ShownId
    uuid: str
    category: str
    content: str
    is_sensitive: bool
    source: str = Field(description="plaintext, or the sealer that opened it")
    # Only for another user's memory shared with the caller.
    owner: str | None = None
    shared_by: str | None = None


class HubImportIn(RootModel[list[ImportItem]]):
    """A JSON array of memories (or `{"memories": [...]}`), read by the handler itself with the
    import's own size limit."""


class HubImportedOut(BaseModel):
    id: int = OwnId
    uuid: str
    category: str
    importance: float
    is_sensitive: bool
    # `duplicate`: a row without an id whose content the user holds already (a second run).
    status: Literal["imported", "exists", "duplicate"]
    item: int | None = None  # its place in the request, when rows were skipped before it


class HubImportOut(RootModel[list[HubImportedOut]]):
    """The original's import answer: one result per row taken, in order (`X-Import-Skipped`
    counts the rows refused; `?report=1` answers memoryd's own import report instead)."""


class HubMigratedOut(BaseModel):
    migrated: int


class HubCategoriesOut(BaseModel):
    categories: list[str]


class HubTagCount(BaseModel):
    tag: str
    count: int


class HubTagsOut(BaseModel):
    tags: list[HubTagCount]


class HubSharedWithMeOut(BaseModel):
    memories: list[HubMemoryOut]
