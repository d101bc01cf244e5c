"""The "Download case file" button's target: the same ZIP as the API's
``GET /api/v1/disputes/{id}/case-file``, for the signed-in viewer (docs/case-file.md)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from fairdeal.entrypoints import case_file
from fairdeal.entrypoints.web.routes.common import ctx_of, need
from fairdeal.entrypoints.web.routes.pipeline import web_router

router = web_router()


@router.get("/disputes/{dispute_id}/case-file")
def download_case_file(request: Request, dispute_id: str) -> Response:
    viewer = need(request)
    target = case_file.build(ctx_of(request), viewer.actor, dispute_id)
    return StreamingResponse(
        case_file.stream(target),
        media_type="application/zip",
        headers={**case_file.download_headers(dispute_id), "Cache-Control": "private, no-store"},
    )
