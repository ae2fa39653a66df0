"""The bodies of the sharing routes (the original project's, field for field, plus
`secret_get`), spoken by the hub and forwarded unchanged by the daemon.

    POST   /api/memories/{id}/share          ShareIn
    DELETE /api/memories/{id}/share/{user}
    POST   /api/memories/share-tag           ShareTagIn
    DELETE /api/memories/share-tag           UnshareTagIn (a JSON body on DELETE, as the original)
    GET    /api/memories/shared-with-me
    GET    /api/memories/my-shares
    GET    /api/users

`permission` is the original's: `read` shows the memory to the recipient, `write` also lets
them update it; only the owner ever deletes or re-shares it. A sensitive memory's value is
never shown through a share unless it was shared with `secret_get: true` (docs/security.md).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from memory_core.wire.rest import MemoryOut, _IgnoresUnknownFields

SHARE_PATH = "/api/memories/{id}/share"
UNSHARE_PATH = "/api/memories/{id}/share/{user}"
SHARE_TAG_PATH = "/api/memories/share-tag"
SHARED_WITH_ME_PATH = "/api/memories/shared-with-me"
MY_SHARES_PATH = "/api/memories/my-shares"
USERS_PATH = "/api/users"

Permission = Literal["read", "write"]
# The original's bounds: a user id and a tag of 1 to 100 characters.
UserName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
TagName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class ShareIn(_IgnoresUnknownFields):
    shared_with: UserName
    permission: Permission = "read"
    # Ours: the recipient may read a sensitive memory's value with secret_get.
    secret_get: bool = False


class ShareTagIn(ShareIn):
    tag: TagName


class UnshareTagIn(_IgnoresUnknownFields):
    tag: TagName
    shared_with: UserName


# ------------------------------------------------------------------------------ answers


class SharedOut(BaseModel):
    """POST /api/memories/{id}/share"""

    shared: int | str  # the owner's integer id of the memory (the original's), `uuid` beside
    uuid: str | None = None
    with_: str = Field(alias="with")
    permission: Permission
    secret_get: bool


class UnsharedOut(BaseModel):
    """DELETE /api/memories/{id}/share/{user}; `removed` is false when there was no share."""

    unshared: int | str
    uuid: str | None = None
    from_: str = Field(alias="from")
    removed: bool


class SharedTagOut(BaseModel):
    shared_tag: str
    with_: str = Field(alias="with")
    permission: Permission
    secret_get: bool


class UnsharedTagOut(BaseModel):
    unshared_tag: str
    from_: str = Field(alias="from")
    removed: bool


class SharedMemoryOut(MemoryOut):
    """A memory of another user, as the recipient sees it."""

    owner: str
    shared_by: str  # the original's name for the owner
    permission: Permission
    secret_get: bool


class SharedWithMeOut(BaseModel):
    memories: list[SharedMemoryOut]


class MemoryShareOut(BaseModel):
    memory_id: int | str
    uuid: str | None = None
    shared_with: str
    permission: Permission
    secret_get: bool
    preview: str
    created_at: str


class TagShareOut(BaseModel):
    tag: str
    shared_with: str
    permission: Permission
    secret_get: bool
    created_at: str


class MySharesOut(BaseModel):
    memory_shares: list[MemoryShareOut]
    tag_shares: list[TagShareOut]


class UsersOut(BaseModel):
    users: list[str]
