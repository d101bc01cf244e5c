"""Who hears of an event is decided from the actor and the event class stored with it; events
stored before those were recorded (NULL columns) reach exactly the same people."""

from __future__ import annotations

from dataclasses import replace

from fairdeal.domain.commands import (
    AcceptSolution,
    AddEvidence,
    AssignMediator,
    DecisionOption,
    PostMessage,
    ProposeDecision,
    ProposeSolution,
    RejectDecision,
    RejectSolution,
    RequestEvidence,
)
from fairdeal.domain.money import Amount
from fairdeal.services.handlers import handle
from fairdeal.services.notifications import audience
from notifications.support import World


def test_events_without_a_stored_actor_reach_the_same_people(world: World) -> None:
    ctx = world.app.ctx
    dispute = world.open()
    offer = handle(
        ctx,
        world.seller,
        dispute.id,
        ProposeSolution(kind="refund_only", amount=Amount.of("10.00")),
    ).dispute.solutions[-1]
    handle(ctx, world.buyer, dispute.id, RejectSolution(offer.id))
    handle(ctx, world.seller, dispute.id, PostMessage(body="It was fine when it left."))
    handle(ctx, world.buyer, dispute.id, PostMessage(body="It was not."))
    world.advance(days=7)  # no agreement: escalated
    handle(ctx, world.mediator, dispute.id, AssignMediator(mediator_id=None))
    handle(ctx, world.mediator, dispute.id, PostMessage(body="I am on it."))
    handle(ctx, world.mediator, dispute.id, RequestEvidence(party="seller", request="Photos"))
    handle(ctx, world.seller, dispute.id, AddEvidence(file_id=world.photo(world.seller)))
    view = handle(
        ctx,
        world.mediator,
        dispute.id,
        ProposeDecision(
            solutions=(DecisionOption("refund_only", Amount.of("25.00")),), rationale="Shared."
        ),
    )
    assert view.dispute.mediation is not None and view.dispute.mediation.decision is not None
    decision_id = view.dispute.mediation.decision.id
    challenge = RejectDecision(decision_id, "No.", (world.photo(world.seller),))
    handle(ctx, world.seller, dispute.id, challenge)
    other = world.open()
    offer = handle(
        ctx, world.seller, other.id, ProposeSolution(kind="refund_only", amount=Amount.of("5"))
    ).dispute.solutions[-1]
    handle(ctx, world.buyer, other.id, AcceptSolution(offer.id))

    with ctx.uow() as uow:
        feed = [e for e in uow.events.after(0, 1000) if "dispute_id" in e.data]
        uow.commit()
    seen = {e.event_class for e in feed}
    assert {"SolutionAccepted", "SolutionRejected", "MessagePosted", "DecisionAnswered"} <= seen
    snapshots = {d: world.dispute(d) for d in (dispute.id, other.id)}
    for event in feed:
        assert event.event_class is not None
        snapshot = snapshots[str(event.data["dispute_id"])]
        unrecorded = replace(event, by=None, event_class=None)
        assert audience(unrecorded, snapshot) == audience(event, snapshot), event
