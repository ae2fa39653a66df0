"""The REST shapes of typed links (memory_core.links), spoken by the daemon and by the hub:

    POST   /api/memories/{id}/links               LinkIn -> LinkOut (200; 409 if it exists)
    DELETE /api/memories/{id}/links/{dst}/{type}  -> UnlinkOut (404 if there is no such link)
    GET    /api/memories/{id}/links               -> LinksOut

The request body and the answers are the original project's (`target_id`, `link_type`; its
`{"unlinked": ...}`), so its clients link through memoryd unchanged. An id may be a UUID or a
short integer id, as a number or as text. The hub answers the original's integer ids with each
UUID beside (`src_uuid`, `dst_uuid`, `uuid`); these models read either, keeping the UUIDs.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictInt, StringConstraints, model_validator

from memory_core.wire.rest import _IgnoresUnknownFields

_MAX_ID_CHARS = 64


class LinkIn(_IgnoresUnknownFields):
    """POST /api/memories/{id}/links: link this memory (the source) to `target_id`."""

    # StrictInt: `true` is not memory 1.
    target_id: Annotated[
        StrictInt | Annotated[str, StringConstraints(min_length=1, max_length=_MAX_ID_CHARS)],
        Field(description="The memory linked to: its UUID or short integer id."),
    ]
    link_type: Annotated[
        str,
        StringConstraints(max_length=40),
        Field(description="part-of, supersedes, see-also or resolved-by."),
    ]

    def target(self) -> str:
        """The target's id as text, whichever form it came in."""
        return str(self.target_id)


def _uuids(data: Any, fields: dict[str, str]) -> Any:
    """The hub's answer (integer ids, UUIDs beside them) with the UUIDs in the id fields."""
    if isinstance(data, dict) and all(isinstance(data.get(u), str) for u in fields.values()):
        return {**data, **{name: data[uuid] for name, uuid in fields.items()}}
    return data


class LinkOut(BaseModel):
    src_id: str
    dst_id: str
    link_type: str

    @model_validator(mode="before")
    @classmethod
    def _from_hub(cls, data: Any) -> Any:
        return _uuids(data, {"src_id": "src_uuid", "dst_id": "dst_uuid"})


class UnlinkOut(BaseModel):
    unlinked: LinkOut


class LinkedOut(BaseModel):
    """One end of a link, seen from the other: the memory's id and the link's type."""

    id: str
    type: str

    @model_validator(mode="before")
    @classmethod
    def _from_hub(cls, data: Any) -> Any:
        return _uuids(data, {"id": "uuid"})


class LinksOut(BaseModel):
    """A memory's links: to the live memories it links to, and from those linking to it."""

    id: str
    links_out: list[LinkedOut]
    links_in: list[LinkedOut]

    @model_validator(mode="before")
    @classmethod
    def _from_hub(cls, data: Any) -> Any:
        return _uuids(data, {"id": "uuid"})
