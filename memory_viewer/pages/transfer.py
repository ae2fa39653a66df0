"""Import and export, with the rules of `memory import` and `memory export`: JSON lines, a
JSON array, or an original claude-memory-mcp database in; JSON lines out, sensitive content
only when asked for (and then the request is logged)."""

from __future__ import annotations

import logging

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from memory_core.errors import InvalidInput, RemoteError
from memory_core.wire.transfer import SQLITE_HEADER, content_withheld, read_items
from memory_viewer.guard import csrf_protected, session_of
from memory_viewer.pages.common import api
from memory_viewer.render import page

audit = logging.getLogger("memory_viewer.audit")

UPLOAD_LIMIT = 256 * 1024 * 1024  # the import endpoint's own limit


async def transfer(request: Request) -> Response:
    """The import/export page."""
    return page(request, "transfer.html")


@csrf_protected
async def export(request: Request) -> Response:
    """Download every memory as JSON lines."""
    form = await request.form()
    include_sensitive = form.get("include_sensitive") == "1"
    if include_sensitive:
        session = session_of(request)
        audit.warning(
            "viewer: exported memories with sensitive content (session %s%s)",
            session.label,
            f", user {session.user}" if session.user else "",
        )
    lines = await api(request).export_lines(include_sensitive)
    return StreamingResponse(
        lines,
        media_type="application/x-ndjson",
        headers={"content-disposition": 'attachment; filename="memories.jsonl"'},
    )


@csrf_protected
async def import_file(request: Request) -> Response:
    """Import an uploaded file, all or nothing."""
    # Closing the form closes the upload's spooled temporary file.
    async with request.form() as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            error = "Choose a file to import."
            return page(request, "transfer.html", status_code=422, error=error)
        filename = upload.filename
        raw = await upload.read(UPLOAD_LIMIT + 1)
    if len(raw) > UPLOAD_LIMIT:
        return page(request, "transfer.html", status_code=413, error="The file is over 256 MiB.")
    memories = api(request)
    withheld = 0
    try:
        if raw.startswith(SQLITE_HEADER):
            result = await memories.import_database(raw)
        else:
            items = read_items(raw.decode("utf-8"), filename)
            kept = [i for i in items if not content_withheld(i)]
            withheld = len(items) - len(kept)
            result = await memories.import_items(kept)
    except (InvalidInput, RemoteError) as exc:
        return page(request, "transfer.html", status_code=422, error=exc.message)
    except (UnicodeDecodeError, ValueError) as exc:
        return page(
            request, "transfer.html", status_code=422, error=f"Cannot read {filename}: {exc}"
        )
    return page(request, "transfer.html", result=result, withheld=withheld)


ROUTES = [
    Route("/transfer", transfer, methods=["GET"], name="transfer"),
    Route("/export", export, methods=["POST"], name="export"),
    Route("/import", import_file, methods=["POST"], name="import"),
]
