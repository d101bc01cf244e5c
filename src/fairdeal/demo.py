"""Demo data: a few buyers and sellers, a mediator, orders, and disputes in every status --
created through the same services a marketplace uses, with the clock moved as needed."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from fairdeal.adapters.clock import FixedClock
from fairdeal.bootstrap import App, bootstrap
from fairdeal.config import Settings
from fairdeal.domain.commands import (
    AcceptSolution,
    AssignMediator,
    Cancel,
    Escalate,
    OpenDispute,
    PostMessage,
    ProposeSolution,
    RejectSolution,
)
from fairdeal.domain.money import Amount
from fairdeal.domain.order import Payment
from fairdeal.domain.roles import Actor, Role
from fairdeal.services import deadlines, disputes, files, handlers, orders, users
from fairdeal.services.context import Context
from fairdeal.services.ports import FileRecord

# Stores a photo of a damaged item for a demo buyer and answers its file id.
PhotoUploader = Callable[[Actor, str], str]

# (handle, role, name, email) of every demo account; the web login page lists them in sandbox
# mode.
DEMO_PEOPLE = [
    ("platform", "platform", "Demo Marketplace", "platform@demo.test"),
    ("alice", "buyer", "Alice Buyer", "alice@demo.test"),
    ("bob", "buyer", "Bob Buyer", "bob@demo.test"),
    ("sam", "seller", "Sam's Gadgets", "sam@demo.test"),
    ("sue", "seller", "Sue's Shoes", "sue@demo.test"),
    ("maya", "mediator", "Maya Mediator", "maya@demo.test"),
    ("ada", "admin", "Ada Admin", "ada@demo.test"),
]


@dataclass
class DemoAccounts:
    tokens: dict[str, str] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)
    dispute_ids: dict[str, str] = field(default_factory=dict)


def seed(
    ctx: Context,
    *,
    password_hash: str | None = None,
    upload_photo: PhotoUploader | None = None,
) -> DemoAccounts:
    """Create the demo world through the services, moving the context's (sandbox or test)
    clock where a status needs time to have passed. Without ``upload_photo`` the evidence is a
    file record with no stored bytes (enough for the engine; the pages show a placeholder)."""
    accounts = DemoAccounts()
    for handle, role, name, email in DEMO_PEOPLE:
        created = users.create_user(
            ctx, role=role, name=name, email=email, country="DE", password_hash=password_hash
        )
        accounts.tokens[handle] = created.api_token
        accounts.actors[handle] = Actor(created.user.id, Role(role))
    a = accounts.actors
    platform, alice, sam, maya = a["platform"], a["alice"], a["sam"], a["maya"]

    photo_ids = iter(range(1000))

    def photo(owner: Actor, title: str) -> str:
        if upload_photo is not None:
            return upload_photo(owner, title)
        file_id = f"file_demo_{owner.user_id}_{next(photo_ids)}"
        with ctx.uow() as uow:
            uow.files.add(
                FileRecord(
                    file_id,
                    owner.user_id,
                    "photo.jpg",
                    "image/jpeg",
                    0,
                    "",
                    f"demo/{file_id}",
                    ctx.clock.now(),
                )
            )
            uow.commit()
        return file_id

    def shipped_order(buyer: Actor, seller: Actor, title: str, price: str) -> str:
        order = orders.register_order(
            ctx,
            platform,
            buyer_id=buyer.user_id,
            seller_id=seller.user_id,
            currency="EUR",
            items=[
                orders.NewItem(
                    sku=title.upper()[:8],
                    title=title,
                    quantity=1,
                    unit_price=price,
                    category="electronics",
                )
            ],
            shipping_cost="4.90",
            payment=Payment("card", f"pay_{title[:6]}", "DE"),
        )
        orders.ship_order(
            ctx,
            seller,
            order.id,
            carrier="DHL",
            tracking_number=f"JD{abs(hash(title)) % 10**10:010d}",
            protection_days=60,
        )
        return order.id

    def dispute(
        label: str,
        buyer: Actor,
        seller: Actor,
        title: str,
        price: str,
        outcome: str = "refund_only",
    ) -> str:
        order_id = shipped_order(buyer, seller, title, price)
        opened = handlers.open_dispute(
            ctx,
            buyer,
            OpenDispute(
                order_id=order_id,
                reason="damaged",
                desired_outcome=outcome,
                amount=Amount.of(price),
                description=f"The {title} arrived cracked.",
                evidence_file_ids=(photo(buyer, title),),
            ),
        )
        accounts.dispute_ids[label] = opened.id
        return opened.id

    # First the dispute that reaches mediation through the clock: open it, let the seller
    # answer, then move past the negotiation window so the engine escalates it, as it would in
    # production. The disputes opened after it are younger and keep their deadlines ahead.
    review = dispute("under_review", a["bob"], sam, "Tablet", "199.00")
    offered = handlers.handle(
        ctx,
        sam,
        review,
        ProposeSolution("refund_only", Amount.of("0.00"), "It was fine when it left."),
    )
    escalate_for_review(ctx, a["bob"], review, offered.dispute.solutions[-1].id)
    handlers.handle(ctx, maya, review, AssignMediator())

    shipped_order(alice, sam, "Headphones", "59.00")  # an order with no dispute yet
    dispute("awaiting_seller_response", alice, sam, "Phone case", "12.00")
    negotiating = dispute("negotiating", alice, sam, "Smart watch", "89.00")
    offer = handlers.handle(
        ctx,
        sam,
        negotiating,
        ProposeSolution("refund_only", Amount.of("20.00"), "Half the screen works; 20 EUR back?"),
    )
    handlers.handle(ctx, alice, negotiating, RejectSolution(offer.dispute.solutions[-1].id))
    handlers.handle(
        ctx,
        sam,
        negotiating,
        PostMessage("Close the dispute and I will send you a new one for free, I promise."),
    )
    returning = dispute(
        "awaiting_return", alice, a["sue"], "Running shoes", "75.00", outcome="return_and_refund"
    )
    primary = disputes.get_dispute(ctx, alice, returning).dispute.primary_solution
    handlers.handle(ctx, a["sue"], returning, AcceptSolution(primary.id))
    closed = dispute("closed", a["bob"], a["sue"], "Sandals", "30.00")
    primary = disputes.get_dispute(ctx, a["bob"], closed).dispute.primary_solution
    handlers.handle(ctx, a["sue"], closed, AcceptSolution(primary.id))
    cancelled = dispute("cancelled", alice, sam, "Charger", "15.00")
    handlers.handle(ctx, alice, cancelled, Cancel())
    return accounts


def escalate_for_review(ctx: Context, buyer: Actor, dispute_id: str, seller_offer: str) -> None:
    """Bring a negotiating dispute to mediation the way the active policy does: where the
    policy has an "Escalate" button (classic) the buyer presses it; otherwise the clock runs
    past the negotiation window and the engine escalates. A policy whose seller counter-offer
    starts a buyer clock (``buyer_answer_days``) would close the dispute first, so there the
    buyer rejects the offer before the clock moves."""
    policy = ctx.policy
    if policy.mediation.manual_escalation:
        handlers.handle(ctx, buyer, dispute_id, Escalate())
        return
    if policy.deadlines.buyer_answer_days:
        handlers.handle(ctx, buyer, dispute_id, RejectSolution(seller_offer))
    for _ in range(10):  # each deadline on the way, until the engine escalates
        view = disputes.get_dispute(ctx, buyer, dispute_id).dispute
        due = view.fire_at
        if view.status.value != "negotiating" or due is None:
            break
        deadlines.advance_clock(ctx, to=max(due, ctx.clock.now()) + timedelta(minutes=1))


def run_scenario(out: TextIO) -> None:
    """``fairdeal demo`` before the HTTP API: seed a fresh SQLite database, print each
    dispute's status, next deadline and timeline."""
    from fairdeal.adapters.db.migrate import upgrade

    folder = Path(tempfile.mkdtemp(prefix="fairdeal-demo-"))

    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    app: App = bootstrap(Settings(database_url=f"sqlite:///{folder / 'demo.db'}"), clock=clock)
    upgrade(app.engine)
    accounts = seed(app.ctx)
    staff = accounts.actors["ada"]
    for label, dispute_id in accounts.dispute_ids.items():
        view = disputes.get_dispute(app.ctx, staff, dispute_id)
        d = view.dispute
        out.write(f"\n== {label}: {d.id} ({d.status.value})\n")
        if d.deadline:
            out.write(
                f"   next deadline: {d.deadline.kind} at {d.deadline.due_at:%Y-%m-%d %H:%M}"
                f" UTC ({d.deadline.party}) -- {d.deadline.explanation}\n"
            )
        if d.outcome:
            out.write(
                f"   outcome: {d.outcome.result.value}, refund {d.outcome.refund}, "
                f"decided by {d.outcome.decided_by.value}: {d.outcome.explanation}\n"
            )
        for entry in d.timeline:
            out.write(f"   {entry.at:%m-%d %H:%M} {entry.actor_role.value:<8} {entry.summary}\n")
    clock.advance(days=30)
    fired = deadlines.run_until_idle(app.ctx)
    out.write(f"\nAfter 30 more days the clock fired {len(fired)} deadline(s):\n")
    for item in fired:
        out.write(f"   {item.due_at:%m-%d %H:%M} {item.aggregate} {item.id}: {item.kind}\n")
    for label, dispute_id in accounts.dispute_ids.items():
        d = disputes.get_dispute(app.ctx, staff, dispute_id).dispute
        out.write(
            f"   {label:<26} -> {d.status.value}"
            f"{' (' + d.outcome.decided_by.value + ')' if d.outcome else ''}\n"
        )
    out.write(f"\nDatabase: {folder / 'demo.db'}\n")


DEMO_PASSWORD = "fairdeal-demo"


def seed_sandbox(app: App) -> DemoAccounts:
    """Seed a sandbox server's database; every demo account logs in with DEMO_PASSWORD."""
    from argon2 import PasswordHasher

    assert app.sandbox_clock is not None, "the demo runs in sandbox mode"

    # Through the context's file storage, the one the served app reads evidence from, so the
    # demo's photos show on the dispute pages.
    def upload_photo(owner: Actor, title: str) -> str:
        record = files.upload(
            app.ctx,
            owner,
            filename=f"{title.lower().replace(' ', '-')}-damage.png",
            chunks=[damaged_item_photo(title)],
        )
        return record.id

    return seed(
        app.ctx,
        password_hash=PasswordHasher().hash(DEMO_PASSWORD),
        upload_photo=upload_photo,
    )


def damaged_item_photo(title: str) -> bytes:
    """A small drawn 'photo' of a cracked item, as a PNG: real evidence for the demo pages."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 360), (222, 214, 200))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((110, 60, 370, 300), radius=24, fill=(58, 66, 82))
    draw.rounded_rectangle((130, 80, 350, 280), radius=12, fill=(120, 160, 196))
    # The crack: a jagged line across the item's face.
    draw.line(
        [(150, 100), (205, 160), (190, 190), (260, 230), (250, 262), (330, 276)],
        fill=(250, 250, 250),
        width=4,
    )
    draw.text((20, 326), f"{title}: as it arrived", fill=(40, 40, 40))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def print_accounts(accounts: DemoAccounts, base_url: str, out: TextIO) -> None:
    out.write(f"\nFairdeal demo at {base_url}  (API docs: {base_url}/docs)\n")
    out.write(f"Every account's web password: {DEMO_PASSWORD}\n\n")
    out.write(f"{'account':<10} {'role':<9} {'email':<18} API token\n")
    for handle, actor in accounts.actors.items():
        out.write(
            f"{handle:<10} {actor.role.value:<9} {handle + '@demo.test':<18} "
            f"{accounts.tokens[handle]}\n"
        )
    out.write("\nDisputes: " + ", ".join(f"{k}={v}" for k, v in accounts.dispute_ids.items()))
    out.write(
        f"\nTry: curl -H 'Authorization: Bearer {accounts.tokens['alice']}' "
        f"{base_url}/api/v1/disputes\n\n"
    )
    out.flush()
