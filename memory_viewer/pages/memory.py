"""A memory: its full text and metadata; edit, delete, and reveal a sensitive one.

An edit is checked against the version the form was loaded from (`updated_at`): when the
memory changed meanwhile (sync, another tab, auto-learn), nothing is saved and the page shows
both versions, the user's edit kept in the form. Only the fields the user changed are sent.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from memory_core.errors import RemoteError
from memory_core.wire import rest
from memory_viewer.guard import csrf_protected, session_of
from memory_viewer.history_links import link_changes, linked_ids
from memory_viewer.pages.common import api
from memory_viewer.render import base_path, page

# Who revealed which sensitive memory, never its content: the audit trail of the viewer.
audit = logging.getLogger("memory_viewer.audit")

EDITABLE = ("content", "category", "tags", "expanded_keywords", "importance", "project")


@dataclass
class Draft:
    """The edit form's values, as text, exactly as the user left them."""

    content: str
    category: str
    tags: str
    expanded_keywords: str
    importance: str
    project: str
    base_updated_at: str

    @classmethod
    def of(cls, memory: rest.MemoryOut) -> Draft:
        return cls(
            content=memory.content,
            category=memory.category,
            tags=", ".join(memory.tags),
            expanded_keywords=memory.expanded_keywords,
            importance=f"{memory.importance:g}",
            project=memory.project or "",
            base_updated_at=memory.updated_at,
        )

    @classmethod
    def from_form(cls, form: FormData, memory: rest.MemoryOut) -> Draft:
        def field(name: str, default: str) -> str:
            value = form.get(name)
            # Browsers send a textarea's line ends as CRLF; the stored text has LF.
            return value.replace("\r\n", "\n") if isinstance(value, str) else default

        current = cls.of(memory)
        return cls(
            # A sensitive memory's form has no content field: its placeholder is never sent.
            content=current.content if memory.is_sensitive else field("content", ""),
            category=field("category", ""),
            tags=field("tags", ""),
            expanded_keywords=field("expanded_keywords", ""),
            importance=field("importance", ""),
            project=field("project", ""),
            base_updated_at=field("updated_at", ""),
        )

    def changes_from(self, memory: rest.MemoryOut) -> dict[str, Any]:
        """The PUT body: each field that differs from the stored memory, as the user typed
        it; the API validates it (one set of rules for every client)."""
        current = Draft.of(memory)
        patch: dict[str, Any] = {}
        if self.content != current.content:
            patch["content"] = self.content
        if self.category != current.category:
            patch["category"] = self.category
        if _tag_list(self.tags) != memory.tags:
            patch["tags"] = _tag_list(self.tags)
        if self.expanded_keywords != current.expanded_keywords:
            patch["expanded_keywords"] = self.expanded_keywords
        if self.importance.strip() != current.importance:
            patch["importance"] = self.importance.strip()
        if self.project.strip() != current.project:
            patch["project"] = self.project.strip() or None
        return patch


def _tag_list(text: str) -> list[str]:
    return [t.strip().lower() for t in text.split(",") if t.strip()]


def _memory_url(request: Request, memory_id: str, **query: str) -> str:
    suffix = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{base_path(request)}/memories/{memory_id}" + (f"?{suffix}" if suffix else "")


async def _context(request: Request, memory: rest.MemoryOut) -> dict[str, Any]:
    """What the page shows beside the memory: its history (where the server keeps one) with
    what each version did to its links, and its links, each with the linked memory as it is
    now (a sensitive one by its placeholder, a deleted one not found)."""
    memories = api(request)
    history, links = await asyncio.gather(memories.history(memory.id), memories.links(memory.id))
    changes = link_changes(history["versions"]) if history else {}
    ids = [str(link.get("id", "")) for link in links] + linked_ids(changes)
    return {
        "memory": memory,
        "history": history,
        "links": links,
        "link_changes": changes,
        "linked": await memories.known(list(dict.fromkeys(ids))),
    }


async def show(request: Request) -> Response:
    """A memory."""
    memory = await api(request).get(request.path_params["id"])
    return page(
        request,
        "memory.html",
        draft=Draft.of(memory),
        saved=request.query_params.get("saved") == "1",
        marked=request.query_params.get("marked") == "1",
        **await _context(request, memory),
    )


@csrf_protected
async def edit(request: Request) -> Response:
    """Save an edit, unless it is stale or invalid."""
    memories = api(request)
    memory = await memories.get(request.path_params["id"])
    draft = Draft.from_form(await request.form(), memory)
    if draft.base_updated_at != memory.updated_at:
        # The form below both versions resubmits the user's edit against the stored one.
        resubmit = replace(draft, base_updated_at=memory.updated_at)
        return page(
            request,
            "conflict.html",
            status_code=409,
            memory=memory,
            draft=draft,
            resubmit=resubmit,
        )
    patch = draft.changes_from(memory)
    if not patch:
        context = await _context(request, memory)
        return page(request, "memory.html", draft=draft, note="Nothing changed.", **context)
    try:
        await memories.update(memory.id, patch)
    except RemoteError as exc:
        if exc.status != 422:
            raise
        context = await _context(request, memory)
        return page(
            request, "memory.html", status_code=422, draft=draft, error=exc.message, **context
        )
    return RedirectResponse(_memory_url(request, memory.id, saved="1"), status_code=303)


@csrf_protected
async def delete(request: Request) -> Response:
    """Delete a memory (the API keeps a tombstone for sync)."""
    deleted = await api(request).delete(request.path_params["id"])
    return RedirectResponse(f"{base_path(request)}/?deleted={deleted.deleted}", status_code=303)


@csrf_protected
async def reveal(request: Request) -> Response:
    """Show a sensitive memory's content, once, on this answer only (it is never cached)."""
    memories = api(request)
    memory = await memories.get(request.path_params["id"])
    secret = await memories.secret(memory.id)
    session = session_of(request)
    audit.warning(
        "viewer: revealed sensitive memory %s (session %s%s)",
        memory.id,
        session.label,
        f", user {session.user}" if session.user else "",
    )
    context = await _context(request, memory)
    return page(request, "memory.html", draft=Draft.of(memory), revealed=secret.content, **context)


@csrf_protected
async def supersede(request: Request) -> Response:
    """Mark this memory as replaced by a newer one (the id typed in the form)."""
    memory_id = request.path_params["id"]
    form = await request.form()
    by = form.get("by")
    memories = api(request)
    try:
        await memories.supersede(memory_id, by.strip() if isinstance(by, str) else "")
    except RemoteError as exc:
        if exc.status != 422:
            raise
        memory = await memories.get(memory_id)
        context = await _context(request, memory)
        return page(
            request,
            "memory.html",
            status_code=422,
            draft=Draft.of(memory),
            error=exc.message,
            **context,
        )
    return RedirectResponse(_memory_url(request, memory_id, marked="1"), status_code=303)


ROUTES = [
    Route("/memories/{id}", show, methods=["GET"], name="memory"),
    Route("/memories/{id}/edit", edit, methods=["POST"], name="memory_edit"),
    Route("/memories/{id}/delete", delete, methods=["POST"], name="memory_delete"),
    Route("/memories/{id}/reveal", reveal, methods=["POST"], name="memory_reveal"),
    Route("/memories/{id}/supersede", supersede, methods=["POST"], name="memory_supersede"),
]
