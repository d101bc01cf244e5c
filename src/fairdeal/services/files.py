"""Evidence uploads: stream to a scratch file with a size cap, read the type from the content,
clean images, store, record. A refused upload leaves nothing behind."""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from fairdeal.domain.errors import DomainError, Forbidden, NotFound
from fairdeal.domain.roles import Actor, Role
from fairdeal.services.context import Context, can_see_dispute
from fairdeal.services.ports import ContentInspector, FileRecord, FileStorage

SNIFF_BYTES = 64

__all__ = [
    "SNIFF_BYTES",
    "ContentInspector",
    "FileStorage",
    "FileTooLarge",
    "UnsupportedFileType",
    "readable_file",
    "safe_filename",
    "upload",
]


class FileTooLarge(DomainError):
    code = "file_too_large"


class UnsupportedFileType(DomainError):
    code = "unsupported_file_type"


def safe_filename(name: str | None) -> str:
    """A display name only: the last path segment, printable characters, at most 120."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^\w.\- ]", "_", base).strip(" .")
    return (base or "upload")[:120]


def upload(
    ctx: Context, actor: Actor, *, filename: str | None, chunks: Iterable[bytes]
) -> FileRecord:
    """Store one evidence file in the context's file storage, once its inspector has read
    its type from its content and cleaned it."""
    if actor.role not in (Role.BUYER, Role.SELLER, Role.MEDIATOR, Role.ADMIN):
        raise Forbidden("only the parties and mediators upload evidence")
    storage, inspector = ctx.file_storage, ctx.content_inspector
    # Not a context manager: on success the file is moved into the store, not deleted.
    scratch = tempfile.NamedTemporaryFile(dir=storage.scratch_dir(), delete=False)  # noqa: SIM115
    path = Path(scratch.name)
    try:
        size, head, content_type, limit = 0, b"", None, inspector.max_upload
        with scratch:
            for chunk in chunks:
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                    if len(head) >= SNIFF_BYTES or content_type is None:
                        content_type = inspector.sniff(head)
                        if content_type is not None:
                            limit = inspector.limit_for(content_type)
                size += len(chunk)
                if size > limit:
                    raise FileTooLarge(f"the file is larger than {limit // (1024 * 1024)} MB")
                scratch.write(chunk)
        content_type = inspector.sniff(head)
        if content_type is None:
            raise UnsupportedFileType(
                "upload a JPEG, PNG, WebP or GIF image, an MP4, WebM or QuickTime video, or a"
                " PDF; the type is read from the file's content, not its name"
            )
        if size > inspector.limit_for(content_type):
            raise FileTooLarge("the file is too large for its type")
        inspector.clean(path, content_type)
        digest = hashlib.sha256()
        stored_size = 0
        with path.open("rb") as handle:
            while block := handle.read(1024 * 1024):
                digest.update(block)
                stored_size += len(block)
        key = storage.put(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    record = FileRecord(
        id=ctx.ids.new("file"),
        owner_id=actor.user_id,
        filename=safe_filename(filename),
        content_type=content_type,
        size=stored_size,
        sha256=digest.hexdigest(),
        storage_key=key,
        created_at=ctx.clock.now(),
    )
    try:
        with ctx.uow() as uow:
            uow.files.add(record)
            uow.commit()
    except BaseException:
        storage.delete(key)
        raise
    return record


def readable_file(ctx: Context, actor: Actor, file_id: str) -> FileRecord:
    """A file its owner, or a party to a dispute it is attached to, may download."""
    with ctx.uow(write=False) as uow:
        record = uow.files.get(file_id)
        if record is None:
            raise NotFound(f"file {file_id} not found")
        if record.owner_id == actor.user_id or actor.role in (Role.MEDIATOR, Role.ADMIN):
            return record
        # Parties see each other's evidence: look through the disputes between the two.
        for dispute in uow.disputes.between(record.owner_id, actor.user_id):
            if can_see_dispute(actor, dispute) and any(
                e.file_id == file_id for e in dispute.evidence
            ):
                return record
    raise NotFound(f"file {file_id} not found")
