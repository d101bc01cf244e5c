"""The demo's evidence is real: each seeded photo is a stored, decodable image that the
dispute's other party can download, not a placeholder record."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from fairdeal.adapters.storage.local import LocalFileStorage
from fairdeal.bootstrap import App
from fairdeal.demo import DemoAccounts
from fairdeal.services import disputes, files


def test_every_seeded_photo_is_a_stored_image_the_seller_can_download(
    world: tuple[App, DemoAccounts],
) -> None:
    app, accounts = world
    storage = LocalFileStorage(app.settings.storage_dir)
    seen = 0
    for dispute_id in accounts.dispute_ids.values():
        staff = accounts.actors["ada"]
        dispute = disputes.get_dispute(app.ctx, staff, dispute_id).dispute
        seller = next(a for a in accounts.actors.values() if a.user_id == dispute.seller_id)
        for evidence in dispute.evidence:
            record = files.readable_file(app.ctx, seller, evidence.file_id)
            body = b"".join(storage.open(record.storage_key))
            assert len(body) == record.size > 0
            with Image.open(io.BytesIO(body)) as image:
                assert image.format == "PNG" and image.size == (480, 360)
            assert Path(record.filename).suffix == ".png"
            seen += 1
    assert seen == len(accounts.dispute_ids)  # one photo per seeded dispute
