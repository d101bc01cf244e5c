"""Reads, users, evidence files and deadlines through the services, on the fakes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from builders import open_dispute, shipped_order
from fairdeal.domain.dispute import Actor, Role, Status
from fairdeal.domain.errors import Forbidden, NotFound
from fairdeal.services import deadlines, disputes, files, users
from fairdeal.services.context import Context
from fakes import FakeClock

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def _stored_dispute(ctx: Context, n: int = 1) -> tuple[str, Actor, Actor]:
    """A dispute opened by the builders' buyer against their seller, saved as-is."""
    dispute, order = open_dispute(shipped_order(order_id=f"ord_{n:04d}"), dispute_id=f"dsp_{n:04d}")
    with ctx.uow() as uow:
        uow.orders.add(order)
        uow.disputes.add(dispute)
        uow.commit()
    return (
        dispute.id,
        Actor(dispute.buyer_id, Role.BUYER),
        Actor(dispute.seller_id, Role.SELLER),
    )


def test_a_party_reads_its_dispute_with_the_actions_open_to_it(ctx: Context) -> None:
    dispute_id, _, seller = _stored_dispute(ctx)
    view = disputes.get_dispute(ctx, seller, dispute_id)
    assert view.dispute.id == dispute_id and view.now == ctx.clock.now()
    assert view.allowed_actions  # the seller has an answer to give
    with pytest.raises(NotFound):
        disputes.get_dispute(ctx, Actor("usr_stranger", Role.BUYER), dispute_id)


def test_each_party_lists_only_its_disputes(ctx: Context) -> None:
    first, buyer, seller = _stored_dispute(ctx, 1)
    second, _, _ = _stored_dispute(ctx, 2)
    listed = disputes.list_disputes(ctx, buyer, status=None, after=None, limit=10)
    assert [d.id for d in listed] == [second, first]
    waiting = Status.AWAITING_SELLER_RESPONSE.value
    assert len(disputes.list_disputes(ctx, seller, status=waiting, after=None, limit=1)) == 1
    stranger = Actor("usr_stranger", Role.SELLER)
    assert disputes.list_disputes(ctx, stranger, status=None, after=None, limit=10) == []
    with pytest.raises(Forbidden):
        disputes.mediation_queue(ctx, buyer, after=None, limit=10)


def test_an_unanswered_dispute_fires_once_when_due(ctx: Context, clock: FakeClock) -> None:
    dispute_id, buyer, _ = _stored_dispute(ctx)
    assert deadlines.fire_due(ctx) == []
    clock.advance(days=30)
    fired = deadlines.run_until_idle(ctx)
    assert [(f.aggregate, f.id) for f in fired][:1] == [("dispute", dispute_id)]
    assert deadlines.fire_due(ctx) == []  # exactly once
    assert disputes.get_dispute(ctx, buyer, dispute_id).dispute.status is not (
        Status.AWAITING_SELLER_RESPONSE
    )


def test_the_sandbox_clock_fires_what_falls_due_on_the_way(ctx: Context, clock: FakeClock) -> None:
    dispute_id, _, _ = _stored_dispute(ctx)
    fired = deadlines.advance_clock(ctx, to=clock.now() + timedelta(days=30))
    assert dispute_id in {f.id for f in fired}
    with pytest.raises(ValueError, match="only moves forward"):
        deadlines.advance_clock(ctx, to=clock.now() - timedelta(days=1))


def test_users_authenticate_by_token_until_disabled(ctx: Context) -> None:
    created = users.create_user(ctx, role="buyer", name="Bea", email="Bea@Example.test")
    assert created.user.email == "bea@example.test"
    actor = users.authenticate(ctx, created.api_token)
    assert actor == Actor(created.user.id, Role.BUYER)
    assert users.authenticate(ctx, "fd_wrong") is None
    assert ctx.security_store.disable_user(created.user.id)
    assert users.authenticate(ctx, created.api_token) is None


def test_the_platform_user_is_made_once(ctx: Context) -> None:
    first = users.ensure_platform_user(ctx, "fd_platform")
    assert users.ensure_platform_user(ctx, "fd_platform").id == first.id


def test_evidence_is_stored_and_readable_by_its_owner_only(
    ctx: Context, make_user: Callable[[str, str], Actor]
) -> None:
    owner = make_user("buyer", "Owner")
    record = files.upload(
        ctx,
        owner,
        filename="../../etc/photo.png",
        chunks=[PNG[:20], PNG[20:]],
    )
    assert (record.filename, record.content_type, record.size) == ("photo.png", "image/png", 108)
    assert b"".join(ctx.file_storage.open(record.storage_key)) == PNG
    assert files.readable_file(ctx, owner, record.id) == record
    with pytest.raises(NotFound):
        files.readable_file(ctx, Actor("usr_other", Role.SELLER), record.id)


def test_a_refused_upload_leaves_nothing_behind(
    ctx: Context, make_user: Callable[[str, str], Actor]
) -> None:
    owner = make_user("seller", "Sam")
    with pytest.raises(files.UnsupportedFileType):
        files.upload(
            ctx,
            owner,
            filename="x.exe",
            chunks=[b"MZ" + b"\x00" * 100],
        )
    assert list(ctx.file_storage.scratch_dir().iterdir()) == []
