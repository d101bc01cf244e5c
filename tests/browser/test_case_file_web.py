"""The "Download case file" button on the dispute page and the ZIP behind it, for a signed-in
viewer (the demo world; no browser needed)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import TYPE_CHECKING

from fairdeal.bootstrap import App
from fairdeal.demo import DemoAccounts
from fairdeal.services.case_file import verify_case_file
from webpages import log_in

if TYPE_CHECKING:
    from starlette.testclient import TestClient


def _disputes_of(scene: tuple[App, DemoAccounts], handle: str) -> tuple[str, str]:
    """A demo dispute where ``handle`` is the buyer, and one where they are not a party."""
    app, accounts = scene
    me = accounts.actors[handle].user_id
    mine, other = None, None
    with app.ctx.uow(write=False) as uow:
        for dispute_id in accounts.dispute_ids.values():
            dispute = uow.disputes.get(dispute_id)
            assert dispute is not None
            if dispute.buyer_id == me:
                mine = mine or dispute_id
            elif dispute.seller_id != me:
                other = other or dispute_id
    assert mine and other
    return mine, other


def test_the_dispute_page_offers_the_case_file_and_it_downloads(
    client: TestClient,
    world: tuple[App, DemoAccounts],
) -> None:
    mine, other = _disputes_of(world, "alice")
    log_in(client, "alice")
    page = client.get(f"/disputes/{mine}")
    assert page.status_code == 200
    assert f'href="/disputes/{mine}/case-file"' in page.text
    assert "Download case file" in page.text
    response = client.get(f"/disputes/{mine}/case-file")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert f'filename="case-{mine}.zip"' in response.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert json.loads(archive.read("dispute.json"))["id"] == mine
    assert "notes" not in json.loads(archive.read("dispute.json"))
    assert verify_case_file(io.BytesIO(response.content)) == []
    assert client.get(f"/disputes/{other}/case-file").status_code == 404
