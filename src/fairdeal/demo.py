"""Demo data: a few buyers and sellers, a mediator, orders, and disputes in every status --
created through the same services a marketplace uses, with the clock moved as needed."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Sequence
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
    DisputeCommand,
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
from fairdeal.services.disputes import DisputeView
from fairdeal.services.ports import FileRecord
from fairdeal.services.security import hash_password

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
    file record with no stored bytes (enough for the engine; the pages show a placeholder).

    The steps run in this order on purpose: the dispute that reaches mediation moves the clock
    past its negotiation window, so it comes first and the disputes opened after it keep their
    deadlines ahead."""
    world = DemoWorld(ctx, create_people(ctx, password_hash), upload_photo)
    dispute_under_review(world)
    world.shipped_order("alice", "sam", "Headphones", "59.00")  # an order with no dispute yet
    disputes_in_negotiation(world)
    disputes_settled(world)
    return world.accounts


def create_people(
    ctx: Context,
    password_hash: str | None,
    people: Sequence[tuple[str, str, str, str]] = DEMO_PEOPLE,
) -> DemoAccounts:
    """Every account of ``people`` ((handle, role, name, email) each), with its API token
    (and its web password's hash)."""
    accounts = DemoAccounts()
    for handle, role, name, email in people:
        created = users.create_user(
            ctx, role=role, name=name, email=email, country="DE", password_hash=password_hash
        )
        accounts.tokens[handle] = created.api_token
        accounts.actors[handle] = Actor(created.user.id, Role(role))
    return accounts


class DemoWorld:
    """What the seeding steps share: the context, the accounts by handle, and how to make a
    shipped order, a photo of the damage and a dispute over it."""

    def __init__(
        self, ctx: Context, accounts: DemoAccounts, upload_photo: PhotoUploader | None
    ) -> None:
        self.ctx, self.accounts, self.upload_photo = ctx, accounts, upload_photo

    def actor(self, handle: str) -> Actor:
        return self.accounts.actors[handle]

    def act(self, handle: str, dispute_id: str, command: DisputeCommand) -> DisputeView:
        return handlers.handle(self.ctx, self.actor(handle), dispute_id, command)

    def photo(self, owner: Actor, title: str) -> str:
        if self.upload_photo is not None:
            return self.upload_photo(owner, title)
        file_id = self.ctx.ids.new(
            "fil"
        )  # "file_demo_<user>_<n>" outgrew the 40-character id column
        with self.ctx.uow() as uow:
            uow.files.add(
                FileRecord(
                    file_id,
                    owner.user_id,
                    "photo.jpg",
                    "image/jpeg",
                    0,
                    "",
                    f"demo/{file_id}",
                    self.ctx.clock.now(),
                )
            )
            uow.commit()
        return file_id

    def shipped_order(self, buyer: str, seller: str, title: str, price: str) -> str:
        order = orders.register_order(
            self.ctx,
            self.actor("platform"),
            buyer_id=self.actor(buyer).user_id,
            seller_id=self.actor(seller).user_id,
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
            self.ctx,
            self.actor(seller),
            order.id,
            carrier="DHL",
            tracking_number=f"JD{abs(hash(title)) % 10**10:010d}",
            protection_days=60,
        )
        return order.id

    def dispute(
        self,
        label: str,
        buyer: str,
        seller: str,
        title: str,
        price: str,
        outcome: str = "refund_only",
    ) -> str:
        """A shipped order and the buyer's dispute over its damaged item, kept under
        ``label`` in the accounts' dispute_ids."""
        order_id = self.shipped_order(buyer, seller, title, price)
        opened = handlers.open_dispute(
            self.ctx,
            self.actor(buyer),
            OpenDispute(
                order_id=order_id,
                reason="damaged",
                desired_outcome=outcome,
                amount=Amount.of(price),
                description=f"The {title} arrived cracked.",
                evidence_file_ids=(self.photo(self.actor(buyer), title),),
            ),
        )
        self.accounts.dispute_ids[label] = opened.id
        return opened.id

    def primary_solution_id(self, handle: str, dispute_id: str) -> str:
        view = disputes.get_dispute(self.ctx, self.actor(handle), dispute_id)
        return view.dispute.primary_solution.id


def dispute_under_review(world: DemoWorld) -> None:
    """Reaches mediation through the clock: opened, the seller answers, the negotiation
    window runs out and the engine escalates it, as it would in production; Maya takes it."""
    review = world.dispute("under_review", "bob", "sam", "Tablet", "199.00")
    offered = world.act(
        "sam",
        review,
        ProposeSolution("refund_only", Amount.of("0.00"), "It was fine when it left."),
    )
    escalate_for_review(world.ctx, world.actor("bob"), review, offered.dispute.solutions[-1].id)
    world.act("maya", review, AssignMediator())


def disputes_in_negotiation(world: DemoWorld) -> None:
    """One waiting for the seller's answer, and one where the buyer turned an offer down and
    the seller tries to talk them out of the dispute (a scam warning's example)."""
    world.dispute("awaiting_seller_response", "alice", "sam", "Phone case", "12.00")
    negotiating = world.dispute("negotiating", "alice", "sam", "Smart watch", "89.00")
    offer = world.act(
        "sam",
        negotiating,
        ProposeSolution("refund_only", Amount.of("20.00"), "Half the screen works; 20 EUR back?"),
    )
    world.act("alice", negotiating, RejectSolution(offer.dispute.solutions[-1].id))
    world.act(
        "sam",
        negotiating,
        PostMessage("Close the dispute and I will send you a new one for free, I promise."),
    )


def disputes_settled(world: DemoWorld) -> None:
    """Agreed on a return, closed with a refund, and cancelled by the buyer."""
    returning = world.dispute(
        "awaiting_return", "alice", "sue", "Running shoes", "75.00", outcome="return_and_refund"
    )
    world.act("sue", returning, AcceptSolution(world.primary_solution_id("alice", returning)))
    closed = world.dispute("closed", "bob", "sue", "Sandals", "30.00")
    world.act("sue", closed, AcceptSolution(world.primary_solution_id("bob", closed)))
    cancelled = world.dispute("cancelled", "alice", "sam", "Charger", "15.00")
    world.act("alice", cancelled, Cancel())


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
        password_hash=hash_password(DEMO_PASSWORD),
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
