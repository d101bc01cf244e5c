"""The admin's sandbox clock names which deadlines fired (issue 13), not only how many. A
world of its own: moving the clock changes every demo dispute."""

from __future__ import annotations

import re

from fairdeal.bootstrap import App
from fairdeal.demo import DemoAccounts
from fairdeal.domain.roles import Actor, Role
from fairdeal.services import payments, users
from webpages import TestClient, csrf_token, log_in


def test_the_admin_sees_which_deadlines_fired(
    world: tuple[App, DemoAccounts],
    client: TestClient,
) -> None:
    _app, accounts = world
    log_in(client, "ada")
    page = client.get("/admin").text
    moved = client.post(
        "/admin/clock", data={"csrf_token": csrf_token(page), "days": "8", "hours": "0"}
    )
    assert moved.status_code == 200
    listed = re.findall(r'<li><a href="/disputes/(dsp_\w+)">dsp_\w+</a>: ([^<]+)</li>', moved.text)
    count = re.search(r"(\d+) deadlines? fired on the way", moved.text)
    assert count and int(count.group(1)) >= 1 and listed
    assert len(listed) == min(int(count.group(1)), 20)
    assert all(kind.startswith("the ") for _, kind in listed)
    fired = {d for d, _ in listed}
    assert accounts.dispute_ids["awaiting_seller_response"] in fired


def test_the_admin_retries_a_failed_refund_from_the_dashboard(
    world: tuple[App, DemoAccounts],
    client: TestClient,
) -> None:
    """Issue 12: failed money movements are listed for the admin with a retry button."""
    app, _accounts = world
    with app.ctx.uow(write=False) as uow:
        movement = next(m for m in uow.payments.list(None, 100) if m.kind.value == "refund")
    platform = Actor("usr_platform_test", Role.PLATFORM)
    if movement.status.value != "failed":
        payments.failed(app.ctx, platform, movement.id, "card closed")
    log_in(client, "ada")
    page = client.get("/admin").text
    assert f'data-movement="{movement.id}"' in page and "card closed" in page

    retried = client.post(
        f"/admin/payments/{movement.id}/retry", data={"csrf_token": csrf_token(page)}
    )

    assert retried.status_code == 200
    with app.ctx.uow(write=False) as uow:
        again = uow.payments.get(movement.id)
    assert again is not None and again.status.value in ("pending", "submitted", "succeeded")
    assert f'data-movement="{movement.id}"' not in client.get("/admin").text


def test_a_sandbox_refund_says_its_money_is_simulated(
    world: tuple[App, DemoAccounts],
    client: TestClient,
) -> None:
    """Issue 12: in sandbox mode the pages say the money is simulated, as the API does."""
    app, accounts = world
    refunded = []
    for dispute_id in accounts.dispute_ids.values():
        with app.ctx.uow(write=False) as uow:
            dispute = uow.disputes.get(dispute_id)
        if dispute is not None and dispute.refund is not None:
            refunded.append(dispute)
    assert refunded, "the demo has a dispute with a refund"
    buyer = "alice" if refunded[0].buyer_id == accounts.actors["alice"].user_id else "bob"
    log_in(client, buyer)
    page = client.get(f"/disputes/{refunded[0].id}").text
    assert "this money is simulated" in page
    # The orders page repeats it beside the refund's state.
    orders = client.get("/orders").text
    assert re.search(r"refund [^<]*\((paid|on its way); simulated money\)", orders), orders
    # In Chinese the note stands in full-width brackets with a Chinese separator, not in
    # ASCII ones around Chinese words.
    user_id = accounts.actors[buyer].user_id
    users.set_locale(app.ctx, user_id, language="zh_Hans", time_zone=None)
    try:
        orders = client.get("/orders").text
    finally:
        users.set_locale(app.ctx, user_id, language=None, time_zone=None)
    assert re.search(r"（[^（）<]+；模拟资金）", orders), orders
    assert not re.search(r"\([^()<]*模拟资金", orders), orders
