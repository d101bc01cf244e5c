"""The case file as the API and the web pages hand it out: the caller's view of the dispute
serialized exactly as ``GET /disputes/{id}`` answers them, the PDF rendered from that same
JSON, the evidence read through the file storage port, all zipped by
``services.case_file.write_case_file`` into a spooled temporary file."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from typing import IO

from fairdeal.adapters.pdf import case as case_pdf
from fairdeal.domain.roles import Actor
from fairdeal.entrypoints.api import serializers
from fairdeal.services import case_file
from fairdeal.services.context import Context

# Kept in memory up to this size, then on disk: a case with videos can be large.
SPOOL_BYTES = 16 * 1024 * 1024


def build(ctx: Context, actor: Actor, dispute_id: str) -> IO[bytes]:
    """The caller's case file, positioned at its start. Raises ``NotFound`` for strangers and
    ``Forbidden`` for those who read the dispute but are not given its case file."""
    material = case_file.case_material(ctx, actor, dispute_id)
    storage = ctx.file_storage
    generated_at = ctx.clock.now()
    body = serializers.dispute(material.view, actor)
    dispute_json = case_file.dumps(body)
    evidence = {e.file_id: e for e in material.dispute.evidence}
    files = []
    # Opened now (a storage raises for a missing file at once): a file whose bytes are gone is
    # named in the PDF as not stored, and left out of the ZIP and its manifest.
    streams: list[tuple[str, Iterator[bytes]]] = []
    for record in material.files:
        added = evidence[record.id]
        path = case_file.evidence_path(record)
        try:
            streams.append((path, storage.open(record.storage_key)))
            stored = True
        except (FileNotFoundError, ValueError):
            stored = False
        files.append(
            {
                "path": path,
                "stored": stored,
                "content_type": record.content_type,
                "size": record.size,
                "sha256": record.sha256,
                "added_by": added.added_by.value,
                "added_at": serializers.ts(added.added_at),
                "description": added.description,
            }
        )
    html = case_pdf.render_html(
        json.loads(dispute_json),
        names=material.names,
        files=files,
        generated_at=serializers.ts(generated_at) or "",
        timeline_head=material.timeline_head,
        caller_role=actor.role.value,
    )
    pdf = case_pdf.render_pdf(html)

    target = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    try:
        case_file.write_case_file(
            target,
            dispute_id=material.dispute.id,
            generated_at=generated_at,
            timeline_head=material.timeline_head,
            parts=[
                (case_file.CASE_PDF, pdf),
                (case_file.DISPUTE_JSON, dispute_json),
                (
                    case_file.TIMELINE_JSON,
                    case_file.dumps(case_file.timeline_entries(material.dispute)),
                ),
            ],
            evidence=streams,
        )
    except BaseException:
        target.close()
        raise
    target.seek(0)
    return target


def stream(target: IO[bytes], chunk_size: int = 256 * 1024) -> Iterator[bytes]:
    """The ZIP's bytes, then the temporary file closed."""
    try:
        while block := target.read(chunk_size):
            yield block
    finally:
        target.close()


def download_headers(dispute_id: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="case-{dispute_id}.zip"'}
