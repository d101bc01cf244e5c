"""One contract for every port, run on the fakes (tests/fakes.py), SQLite and PostgreSQL: what
the services rely on, so that a service test on the fakes means what it says on a database."""

from __future__ import annotations

import itertools
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from builders import T0, make_order, open_dispute, shipped_order, store
from fairdeal.domain.dispute import Dispute, Status
from fairdeal.domain.errors import VersionConflict
from fairdeal.domain.order import Order
from fairdeal.services import audit
from fairdeal.services.context import Context
from fairdeal.services.ports import DisputeFilter, FileRecord, FileStorage, OrderFilter, User
from fairdeal.services.security import login_key_hash, session_id_hash

_numbers = itertools.count(1)


def _user(role: str = "buyer", **changes: object) -> User:
    n = next(_numbers)
    fields: dict[str, object] = {
        "id": f"usr_{n:06d}",
        "role": role,
        "name": f"User {n}",
        "email": f"user{n}@example.test",
        "created_at": T0,
        "token_hash": f"hash{n:060d}",
    }
    fields.update(changes)
    return User(**fields)  # type: ignore[arg-type]


def _stored_order(ctx: Context, order_id: str) -> Order:
    with ctx.uow(write=False) as uow:
        found = uow.orders.get(order_id)
    assert found is not None
    return found


def _dispute_on_order(ctx: Context, n: int, **kwargs: object) -> Dispute:
    order = shipped_order(order_id=f"ord_{n:04d}")
    dispute, order = open_dispute(order, dispute_id=f"dsp_{n:04d}", **kwargs)  # type: ignore[arg-type]
    store(ctx.uow, dispute, order)
    return dispute


# --- users and files ----------------------------------------------------------------------


def test_users_are_found_by_id_token_hash_and_email(ctx: Context) -> None:
    user = _user(email="Mixed@Example.test".lower())
    with ctx.uow() as uow:
        uow.users.add(user)
        uow.commit()
    with ctx.uow(write=False) as uow:
        assert uow.users.get(user.id) == user
        assert uow.users.by_token_hash(user.token_hash or "") == user
        assert uow.users.by_email("MIXED@example.test") == user
        assert uow.users.get("usr_nobody") is None


def test_users_are_found_many_at_once_and_their_password_hash_replaced(ctx: Context) -> None:
    first, second, third = _user(), _user(), _user()
    with ctx.uow() as uow:
        for user in (first, second, third):
            uow.users.add(user)
        uow.commit()
    with ctx.uow(write=False) as uow:
        found = uow.users.get_many({first.id, third.id, "usr_nobody"})
        assert sorted(found, key=lambda u: u.id) == [first, third]
        assert uow.users.get_many(set()) == []
    with ctx.uow() as uow:
        uow.users.set_password_hash(second.id, "$argon2id$new")
        uow.commit()
    with ctx.uow(write=False) as uow:
        changed = uow.users.get(second.id)
        assert changed is not None and changed.password_hash == "$argon2id$new"
        assert uow.users.get(first.id) == first


def test_a_second_user_with_the_same_token_is_refused(ctx: Context) -> None:
    first = _user()
    with ctx.uow() as uow:
        uow.users.add(first)
        uow.commit()
    with pytest.raises(Exception), ctx.uow() as uow:  # noqa: B017 - each adapter's own error
        uow.users.add(_user(token_hash=first.token_hash))
        uow.commit()
    with ctx.uow(write=False) as uow:
        assert uow.users.get(first.id) == first


def test_files_are_recorded(ctx: Context) -> None:
    record = FileRecord("file_1", "usr_1", "a.png", "image/png", 3, "ab" * 32, "k/1", T0)
    with ctx.uow() as uow:
        uow.files.add(record)
        uow.commit()
    with ctx.uow(write=False) as uow:
        assert uow.files.get("file_1") == record
        assert uow.files.get("file_2") is None


# --- the unit of work ---------------------------------------------------------------------


def test_nothing_is_written_unless_committed(ctx: Context) -> None:
    with ctx.uow() as uow:
        uow.users.add(_user())
        uow.orders.add(make_order(order_id="ord_0001"))
        # no commit: leaving the block rolls back
    with ctx.uow(write=False) as uow:
        assert uow.orders.get("ord_0001") is None
    store(ctx.uow, make_order(order_id="ord_0001"))
    with ctx.uow() as uow:
        order = uow.orders.get("ord_0001")
        assert order is not None
        order.ship(carrier="DHL", tracking_number="T1", protection_days=30, now=T0)
    stored = _stored_order(ctx, "ord_0001")
    assert (stored.version, stored.shipped_at) == (1, None)


def test_a_commit_saves_new_and_changed_aggregates_with_their_versions(ctx: Context) -> None:
    order = make_order(order_id="ord_0001")
    store(ctx.uow, order)
    assert order.version == 1
    stored = _stored_order(ctx, "ord_0001")
    assert stored == order and stored is not order
    with ctx.uow() as uow:
        again = uow.orders.get("ord_0001")
        assert again is not None and uow.orders.get("ord_0001") is again  # one per row
        again.ship(carrier="DHL", tracking_number="T1", protection_days=30, now=T0)
        uow.commit()
    assert again.version == 2
    assert _stored_order(ctx, "ord_0001").status == again.status


def test_reading_without_changing_does_not_move_the_version(ctx: Context) -> None:
    store(ctx.uow, make_order(order_id="ord_0001"))
    with ctx.uow() as uow:
        uow.orders.get("ord_0001")
        uow.commit()
    assert _stored_order(ctx, "ord_0001").version == 1


def test_a_stale_save_is_refused_and_writes_nothing(ctx: Context) -> None:
    """The late writer read version 1 (recreated by rewinding what it read: SQLite lets one
    writer in at a time); its dispute is current, its order stale: the dispute's write must
    not survive the order's refusal."""
    dispute = _dispute_on_order(ctx, 1)
    with ctx.uow() as first:
        mine = first.orders.get(dispute.order_id)
        assert mine is not None
        mine.extend_protection(days=5, now=T0)
        first.commit()
    with ctx.uow() as late:
        theirs, their_dispute = late.orders.get(dispute.order_id), late.disputes.get(dispute.id)
        assert theirs is not None and their_dispute is not None
        theirs.version -= 1
        theirs.extend_protection(days=9, now=T0)
        their_dispute.description = "changed by the late writer"
        assert late.disputes.stored_version(dispute.id) == 1
        with pytest.raises(VersionConflict):
            late.commit()
    stored = _stored_order(ctx, dispute.order_id)
    assert (stored.version, stored.protection_ends_at) == (2, mine.protection_ends_at)
    with ctx.uow(write=False) as uow:
        kept = uow.disputes.get(dispute.id)
        assert (
            kept is not None and kept.version == 1 and kept.description != their_dispute.description
        )


def test_a_commit_publishes_its_events_in_the_feed(ctx: Context) -> None:
    seen: list[list[str]] = []
    ctx.on_commit.append(lambda events: seen.append([e.type for e in events]))
    dispute = _dispute_on_order(ctx, 1)
    with ctx.uow() as uow:
        uow.commit()
        assert uow.published() == []
    with ctx.uow() as uow:
        feed = uow.events.after(0, 100)
        uow.commit()
    types = [e.type for e in feed]
    assert "dispute.opened" in types
    assert [e.seq for e in feed] == sorted(e.seq for e in feed)
    assert len({e.id for e in feed}) == len(feed)
    opened = next(e for e in feed if e.type == "dispute.opened")
    assert opened.data.get("dispute_id", dispute.id) == dispute.id
    with ctx.uow() as uow:
        assert uow.events.after(feed[-1].seq, 100) == []
        assert [e.id for e in uow.events.after(feed[0].seq, 1)] == [feed[1].id]
        uow.commit()


def test_the_ledger_is_written_with_its_order(ctx: Context) -> None:
    order = make_order(order_id="ord_0001")
    held = list(order.pending_ledger)
    store(ctx.uow, order)
    with ctx.uow(write=False) as uow:
        assert uow.ledger("ord_0001") == held
        assert uow.ledger("ord_none") == []


# --- listings and claims ------------------------------------------------------------------


def test_orders_list_newest_first_by_party_with_a_cursor(ctx: Context) -> None:
    orders = [make_order(order_id=f"ord_{n:04d}") for n in range(1, 6)]
    orders[2].buyer_id = "usr_other"
    store(ctx.uow, *orders)
    with ctx.uow(write=False) as uow:
        assert [o.id for o in uow.orders.list(OrderFilter(limit=2))] == ["ord_0005", "ord_0004"]
        page = uow.orders.list(OrderFilter(after="ord_0004", limit=10))
        assert [o.id for o in page] == ["ord_0003", "ord_0002", "ord_0001"]
        mine = uow.orders.list(OrderFilter(buyer_id="usr_other"))
        assert [o.id for o in mine] == ["ord_0003"]
        assert [o.id for o in uow.orders.get_many(["ord_0002", "ord_9", "ord_0001"])] == [
            "ord_0002",
            "ord_0001",
        ]


def test_disputes_list_by_party_and_status_with_a_cursor(ctx: Context) -> None:
    for n in range(1, 5):
        _dispute_on_order(ctx, n)
    with ctx.uow(write=False) as uow:
        everyone = uow.disputes.list(DisputeFilter())
        assert [d.id for d in everyone] == ["dsp_0004", "dsp_0003", "dsp_0002", "dsp_0001"]
        page = uow.disputes.list(DisputeFilter(buyer_id=everyone[0].buyer_id, after="dsp_0003"))
        assert [d.id for d in page] == ["dsp_0002", "dsp_0001"]
        assert uow.disputes.list(DisputeFilter(seller_id="usr_nobody")) == []
        waiting = Status.AWAITING_SELLER_RESPONSE.value
        assert len(uow.disputes.list(DisputeFilter(status=waiting, limit=3))) == 3
        assert uow.disputes.list(DisputeFilter(status=Status.CLOSED.value)) == []


def test_the_mediator_queue_is_nearest_deadline_first(ctx: Context) -> None:
    # Opened later, due later: dsp_0002 is opened a day before dsp_0001.
    _dispute_on_order(ctx, 1, now=T0 + timedelta(days=1))
    _dispute_on_order(ctx, 2, now=T0)
    _dispute_on_order(ctx, 3, now=T0 + timedelta(days=2))
    with ctx.uow(write=False) as uow:
        queue = uow.disputes.list(DisputeFilter(mediator_queue=True))
        assert [d.id for d in queue] == ["dsp_0002", "dsp_0001", "dsp_0003"]
        rest = uow.disputes.list(DisputeFilter(mediator_queue=True, after="dsp_0002"))
        assert [d.id for d in rest] == ["dsp_0001", "dsp_0003"]


def test_disputes_between_two_users_either_way_round(ctx: Context) -> None:
    dispute = _dispute_on_order(ctx, 1)
    with ctx.uow(write=False) as uow:
        assert [d.id for d in uow.disputes.between(dispute.seller_id, dispute.buyer_id)] == [
            dispute.id
        ]
        assert [d.id for d in uow.disputes.between(dispute.buyer_id, dispute.seller_id)] == [
            dispute.id
        ]
        assert uow.disputes.between(dispute.buyer_id, "usr_nobody") == []
        assert uow.disputes.stored_version(dispute.id) == 1
        assert uow.disputes.stored_version("dsp_none") is None


def test_due_aggregates_are_claimed_earliest_first(ctx: Context) -> None:
    first = _dispute_on_order(ctx, 1, now=T0)
    second = _dispute_on_order(ctx, 2, now=T0 + timedelta(hours=1))
    assert first.fire_at is not None and second.fire_at is not None
    with ctx.uow() as uow:
        found = uow.disputes.next_due(second.fire_at)
        assert found is not None and found[2] <= first.fire_at
        assert uow.disputes.claim_due(first.fire_at - timedelta(seconds=1), 10) == []
        claimed = uow.disputes.claim_due(second.fire_at, 10)
        assert [d.id for d in claimed] == [first.id, second.id]
        assert [d.id for d in uow.disputes.claim_due(second.fire_at, 1)] == [first.id]
        uow.commit()


def test_due_orders_are_claimed(ctx: Context) -> None:
    order = shipped_order(order_id="ord_0001")
    store(ctx.uow, order)
    assert order.fire_at is not None
    with ctx.uow() as uow:
        assert uow.orders.claim_due(order.fire_at - timedelta(seconds=1), 10) == []
        assert [o.id for o in uow.orders.claim_due(order.fire_at, 10)] == [order.id]
        uow.commit()


# --- the tamper-evident record ------------------------------------------------------------


def test_every_stored_chain_verifies(ctx: Context) -> None:
    _dispute_on_order(ctx, 1)
    store(ctx.uow, make_order(order_id="ord_0100"))
    report = audit.verify(ctx.audit_chains)
    assert report.ok
    assert report.chains == 3  # one timeline, two ledgers
    assert report.entries > 0


# --- sign-in state ------------------------------------------------------------------------


def test_sessions_live_until_ended_or_expired(ctx: Context) -> None:
    store = ctx.security_store
    user = _user()
    with ctx.uow() as uow:
        uow.users.add(user)
        uow.commit()
    store.add_session(session_id_hash("n1"), user.id, T0, T0 + timedelta(hours=1))
    store.add_session(session_id_hash("n2"), user.id, T0, T0 + timedelta(hours=1))
    holder = store.session_holder(session_id_hash("n1"), T0)
    assert holder is not None and (holder.id, holder.email) == (user.id, user.email)
    assert store.session_holder(session_id_hash("n1"), T0 + timedelta(hours=2)) is None
    store.end_session(session_id_hash("n1"))
    assert store.session_holder(session_id_hash("n1"), T0) is None
    assert store.disable_user(user.id) is True
    assert store.session_holder(session_id_hash("n2"), T0) is None
    with ctx.uow(write=False) as uow:
        disabled = uow.users.get(user.id)
        assert disabled is not None and disabled.disabled
    assert store.disable_user("usr_nobody") is False


def test_failed_sign_ins_count_until_one_succeeds(ctx: Context) -> None:
    store, key = ctx.security_store, login_key_hash("Someone@Example.test")
    assert [store.login_failed(key, T0) for _ in range(3)] == [1, 2, 3]
    assert store.login_locked_until(key) is None
    store.lock_login(key, T0 + timedelta(minutes=5))
    assert store.login_locked_until(key) == T0 + timedelta(minutes=5)
    store.login_succeeded(key)
    assert store.login_locked_until(key) is None
    assert store.login_failed(key, T0) == 1


# --- evidence bytes, ids ------------------------------------------------------------------


def test_stored_files_read_back_until_deleted(file_storage: FileStorage) -> None:
    storage = file_storage
    source = Path(storage.scratch_dir()) / "upload.bin"
    source.write_bytes(b"evidence" * 1000)
    key = storage.put(source)
    assert not source.exists()
    assert b"".join(storage.open(key)) == b"evidence" * 1000
    storage.delete(key)
    with pytest.raises(FileNotFoundError):
        b"".join(storage.open(key))


def test_a_large_file_reads_back_byte_for_byte_in_chunks(file_storage: FileStorage) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)
    source = Path(file_storage.scratch_dir()) / "big.bin"
    source.write_bytes(content)
    key = file_storage.put(source)
    assert b"".join(file_storage.open(key)) == content
    file_storage.delete(key)


def test_keys_are_the_stores_own_and_distinct(file_storage: FileStorage) -> None:
    keys = set()
    for i in range(3):
        source = Path(file_storage.scratch_dir()) / "same-name.bin"
        source.write_bytes(b"x%d" % i)
        keys.add(file_storage.put(source))
    assert len(keys) == 3 and not any("same-name" in key for key in keys)


def test_an_unknown_key_is_not_found_before_any_byte_is_read(file_storage: FileStorage) -> None:
    with pytest.raises(FileNotFoundError):
        file_storage.open("ab/" + "0" * 32)  # raised by open itself, not mid-stream
    file_storage.delete("ab/" + "0" * 32)  # deleting what is not there is not an error


def test_ids_are_unique_and_sort_by_creation(ctx: Context) -> None:
    made = [ctx.ids.new("dsp") for _ in range(50)]
    assert len(set(made)) == 50
    assert all(i.startswith("dsp_") for i in made)
    time.sleep(0.002)  # the real ids order by the millisecond
    assert made[0] < ctx.ids.new("dsp")


# --- money movements (docs/payments.md) -----------------------------------------------------


def _settled(ctx: Context, order_id: str = "ord_0001") -> Order:
    """An order whose dispute decided a refund and a payout: two movements, one commit."""
    order = shipped_order(order_id=order_id)
    order.settle_dispute(
        dispute_id="dsp_0001",
        amount_paid=order.total,
        refund=order.total - order.items[0].amount,
        now=T0,
        refund_expected_by=T0 + timedelta(days=14),
    )
    store(ctx.uow, order)
    return order


def test_movements_are_saved_with_the_ledger_entries_that_decide_them(ctx: Context) -> None:
    order = _settled(ctx)
    with ctx.uow(write=False) as uow:
        found = uow.payments.of_order(order.id)
        assert [m.kind.value for m in found] == ["refund", "payout"]
        assert [t.movement.value for t in uow.ledger(order.id)][-2:] == ["refund", "release"]
        assert uow.payments.get(found[0].id) == found[0]
        assert uow.payments.get("pay_none") is None
        assert uow.payments.of_order("ord_none") == []


def test_movements_are_claimed_when_due_and_held_for_their_lease(ctx: Context) -> None:
    order = _settled(ctx)
    with ctx.uow() as uow:
        claimed = uow.payments.claim_due(T0, 10, real_now=T0)
        assert len(claimed) == 2
        for movement in claimed:
            movement.begin_attempt(T0, timedelta(seconds=30))
        uow.commit()
    with ctx.uow(write=False) as uow:
        soon = T0 + timedelta(seconds=29)
        assert uow.payments.claim_due(soon, 10, real_now=soon) == []
        ended = T0 + timedelta(seconds=30)
        assert len(uow.payments.claim_due(ended, 10, real_now=ended)) == 2  # lease over
        assert {m.status.value for m in uow.payments.of_order(order.id)} == {"submitted"}
        # A lease is judged in real time: the clock 30 days on does not end it.
        jumped = T0 + timedelta(days=30)
        assert uow.payments.claim_due(jumped, 10, real_now=soon) == []
        assert len(uow.payments.claim_due(jumped, 10, real_now=ended)) == 2
        # ... and a clock behind real time (a sandbox set to a past date) does not hold it.
        behind = T0 - timedelta(days=30)
        assert len(uow.payments.claim_due(behind, 10, real_now=ended)) == 2


def test_movements_list_by_status_and_those_needing_attention(ctx: Context) -> None:
    order = _settled(ctx)
    with ctx.uow() as uow:
        refund, payout = uow.payments.of_order(order.id)
        payout.begin_attempt(T0, timedelta(seconds=30))
        payout.fail("account closed", T0)
        uow.commit()
    with ctx.uow(write=False) as uow:
        assert [m.id for m in uow.payments.list("failed")] == [payout.id]
        assert {m.id for m in uow.payments.list()} == {refund.id, payout.id}
        assert [m.id for m in uow.payments.needing_attention(T0)] == [payout.id]
        late = T0 + timedelta(days=15)  # the refund is past its expected_by
        assert {m.id for m in uow.payments.needing_attention(late)} == {refund.id, payout.id}
