"""``GET /disputes/{id}/case-file``: the whole case as one ZIP (docs/case-file.md)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from fairdeal.entrypoints import case_file
from fairdeal.entrypoints.api.deps import Ctx, CurrentActor
from fairdeal.entrypoints.api.routes.common import errors

router = APIRouter(prefix="/api/v1", tags=["disputes"])


@router.get(
    "/disputes/{dispute_id}/case-file",
    responses={
        200: {"content": {"application/zip": {}}, "description": "The case file (a ZIP)."},
        **errors(401, 403, 404),
    },
)
def get_case_file(dispute_id: str, actor: CurrentActor, ctx: Ctx) -> StreamingResponse:
    """The case as one ZIP for the buyer, the seller, the dispute's mediator and admins:
    ``case.pdf``, ``dispute.json`` (as ``GET /disputes/{id}`` answers the caller),
    ``timeline.json`` (the timeline's hash chain), ``evidence/<file id>-<filename>`` and
    ``manifest.json`` (SHA-256 and size of every other file, and the timeline chain head).
    Check one offline with ``fairdeal audit verify-case-file``."""
    target = case_file.build(ctx, actor, dispute_id)
    return StreamingResponse(
        case_file.stream(target),
        media_type="application/zip",
        headers={**case_file.download_headers(dispute_id), "Cache-Control": "private, no-store"},
    )
