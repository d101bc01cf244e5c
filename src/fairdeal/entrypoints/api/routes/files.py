"""Evidence uploads and downloads."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from fastapi import APIRouter, UploadFile
from fastapi.responses import StreamingResponse

from fairdeal.entrypoints.api import serializers
from fairdeal.entrypoints.api.deps import Ctx, CurrentActor
from fairdeal.entrypoints.api.errors import ApiError
from fairdeal.entrypoints.api.ratelimit import UploadLimit
from fairdeal.entrypoints.api.routes.common import errors
from fairdeal.entrypoints.api.schemas import FileOut
from fairdeal.services import files

router = APIRouter(prefix="/api/v1", tags=["files"])


def content_disposition(disposition: str, filename: str) -> str:
    """``attachment; filename="..."`` safe for any stored name: an ASCII fallback in the
    quoted form and the exact name as RFC 5987 ``filename*`` (a header is latin-1, so a
    Cyrillic or emoji name written as-is would fail the response)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _chunks(upload: UploadFile, size: int = 256 * 1024) -> Iterator[bytes]:
    while chunk := upload.file.read(size):
        yield chunk


@router.post(
    "/files",
    status_code=201,
    response_model=FileOut,
    responses=errors(401, 403, 413, 415, 422, 429),
)
def upload_file(file: UploadFile, actor: UploadLimit, ctx: Ctx) -> dict[str, object]:
    """Upload evidence (multipart field ``file``). The type is read from the content; images are
    re-encoded without metadata, and ``size``/``sha256`` describe the stored file."""
    record = files.upload(ctx, actor, filename=file.filename, chunks=_chunks(file))
    return serializers.file(record)


@router.get("/files/{file_id}", responses=errors(401, 404))
def download_file(file_id: str, actor: CurrentActor, ctx: Ctx) -> StreamingResponse:
    """The stored file, to its owner and to the parties of disputes it is attached to."""
    record = files.readable_file(ctx, actor, file_id)
    try:
        body = ctx.file_storage.open(record.storage_key)
    except FileNotFoundError:
        raise ApiError("not_found", f"file {file_id} not found") from None
    return StreamingResponse(
        body,
        media_type=record.content_type,
        headers={
            "Content-Disposition": content_disposition("attachment", record.filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Length": str(record.size),
            "Cache-Control": "private, max-age=0",
        },
    )
