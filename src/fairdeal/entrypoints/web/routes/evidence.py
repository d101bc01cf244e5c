"""Evidence files: uploading one from a form (the dispute form, the evidence form, the answer
to a decision) and showing one to whoever may see it."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import UploadFile

from fairdeal.domain.errors import DomainError
from fairdeal.entrypoints.api.routes.files import content_disposition
from fairdeal.entrypoints.web.routes.common import Viewer, ctx_of, limit, need
from fairdeal.entrypoints.web.routes.pipeline import web_router
from fairdeal.services import files
from fairdeal.services.ports import FileRecord

router = web_router()

MISSING_IMAGE = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 160 120" width="160" height="120">'
    '<rect width="160" height="120" fill="#eef1f4"/>'
    '<text x="80" y="64" font-family="sans-serif" font-size="12" text-anchor="middle" '
    'fill="#5b6672">file not stored</text></svg>'
)


@router.get("/files/{file_id}")
def file(request: Request, file_id: str) -> Response:
    """An evidence file, to whoever the API would give it (services.files.readable_file)."""
    viewer = need(request)
    record = files.readable_file(ctx_of(request), viewer.actor, file_id)
    try:
        body = ctx_of(request).file_storage.open(record.storage_key)
    except (FileNotFoundError, ValueError):
        return Response(
            MISSING_IMAGE,
            status_code=404,
            media_type="image/svg+xml",
            headers={"Cache-Control": "no-store"},
        )
    disposition = "inline" if record.content_type.startswith(("image/", "video/")) else "attachment"
    return StreamingResponse(
        body,
        media_type=record.content_type,
        headers={
            "Content-Disposition": content_disposition(disposition, record.filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Length": str(record.size),
            "Cache-Control": "private, max-age=300",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def upload(
    request: Request, viewer: Viewer, chosen: UploadFile, *, field: str | None = None
) -> FileRecord:
    """Store one chosen file as the viewer's; a refusal names ``field`` when the upload's own
    refusal names none (the file input it came from)."""
    limit(request, "uploads", viewer.actor.user_id)

    def chunks() -> Iterator[bytes]:
        while chunk := chosen.file.read(256 * 1024):
            yield chunk

    try:
        return files.upload(
            ctx_of(request), viewer.actor, filename=chosen.filename, chunks=chunks()
        )
    except DomainError as error:
        error.field = error.field or field
        raise
