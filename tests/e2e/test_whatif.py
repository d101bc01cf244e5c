"""The policy what-if on disputes made over HTTP, on SQLite and PostgreSQL, under each preset:
replaying under the policy the disputes ran under gives back every recorded outcome exactly;
replaying under the other preset shows the differences the presets' rules imply."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from e2e.support import World, running_world
from fairdeal.cli import app as cli
from fairdeal.policies import load_preset
from fairdeal.services.whatif import what_if

OTHER = {"standard": "classic", "classic": "standard"}


@pytest.fixture(params=["standard", "classic"])
def preset_world(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(db_url, tmp_path / "files", policy=request.param) as created:
        yield created


def _try(response: Any) -> dict[str, Any] | None:
    return response.json() if response.status_code < 300 else None


def scenes(world: World) -> dict[str, str]:
    """Disputes that end (or stand) in different ways, made as a marketplace's users would;
    an action the preset refuses is simply not taken."""
    s, b, m = world.seller, world.buyer, world.mediator
    made: dict[str, str] = {}

    made["seller_silent"] = world.open_dispute()["id"]

    d = world.open_dispute()
    made["offer_ignored"] = d["id"]
    world.act(s, d, "solutions", {"kind": "refund_only", "amount": "15.00"}, 201)

    d = world.open_dispute()
    made["agreed"] = d["id"]
    offer = world.act(s, d, "solutions", {"kind": "refund_only", "amount": "25.00"}, 201)
    world.act(b, d, f"solutions/{offer['solutions'][-1]['id']}/accept")

    d = world.open_dispute()
    made["cancelled"] = d["id"]
    world.act(s, d, "messages", {"body": "Could you check again?"}, 201)
    world.act(b, d, "cancel")

    d = world.open_dispute(desired_outcome="return_and_refund")
    made["returned"] = d["id"]
    world.act(s, d, f"solutions/{d['solutions'][0]['id']}/accept")
    world.act(b, d, "return-shipment", {"carrier": "DHL", "tracking_number": "RT1"})
    world.act(s, d, "return-receipt", {"condition": "as_expected"})

    d = world.open_dispute()
    made["mediated"] = d["id"]
    offer = world.act(s, d, "solutions", {"kind": "refund_only", "amount": "5.00"}, 201)
    world.act(b, d, f"solutions/{offer['solutions'][-1]['id']}/reject")
    _try(b.post(f"/disputes/{d['id']}/escalate"))  # classic's button; standard waits

    world.advance(days=8)
    current = world.dispute(made["mediated"])
    if current["status"] == "under_review":
        world.act(m, current, "assign")
        decided = world.act(
            m,
            current,
            "decisions",
            {"solutions": [{"kind": "refund_only", "amount": "20.00"}], "rationale": "Half."},
            201,
        )
        decision = decided["mediation"]["decision"]["id"]
        world.act(b, current, f"decisions/{decision}/accept", {"solution_index": 0})
        world.act(s, current, f"decisions/{decision}/reject", {"comment": "Too much."})
        world.act(m, current, f"decisions/{decision}/finalize", {})
    world.advance(days=20)
    return made


def test_replaying_under_the_same_policy_reproduces_every_outcome(preset_world: World) -> None:
    world = preset_world
    made = scenes(world)
    policy = world.app.ctx.policy
    report = what_if(world.app.ctx, policy, since=date(2000, 1, 1))
    assert {r.dispute_id for r in report.replays} == set(made.values())
    for r in report.replays:
        assert r.unreplayable is None, r.unreplayable
        assert r.refused == []
        assert r.replayed == r.recorded, (r.dispute_id, r.recorded, r.replayed)
        stored = world.dispute(r.dispute_id)
        if stored["outcome"]:
            assert r.replayed is not None
            assert r.replayed.rule == stored["outcome"]["rule"]
            assert r.replayed.result == stored["outcome"]["result"]
    body = report.as_json()
    assert body["changed"] == 0 and body["recorded"] == body["what_if"]
    assert body["replayed"] == len(made) == body["disputes"]


def test_replaying_under_the_other_preset_shows_its_rules(preset_world: World) -> None:
    world = preset_world
    made = scenes(world)
    here = world.app.ctx.policy.name
    other = load_preset(OTHER[here])
    report = {
        r.dispute_id: r for r in what_if(world.app.ctx, other, since=date(2000, 1, 1)).replays
    }
    ignored = report[made["offer_ignored"]]
    assert ignored.replayed is not None
    if other.name == "classic":
        # classic gives the buyer 5 days to answer a counter-offer: it closes on the offer.
        assert ignored.replayed.decided_by == "buyer_timeout"
        assert ignored.replayed.refund_minor == 1500 and ignored.changed
        # The seller's 5 days instead of 7: the same outcome, two days sooner.
        silent = report[made["seller_silent"]]
        assert silent.replayed is not None and silent.recorded.hours is not None
        assert silent.replayed.result == silent.recorded.result == "buyer_favour"
        assert silent.replayed.hours == silent.recorded.hours - 48
    else:
        # standard has no buyer clock: the ignored offer runs into the negotiation timeout.
        assert ignored.recorded.decided_by == "buyer_timeout"
        assert ignored.replayed.escalated and ignored.changed
    agreed = report[made["agreed"]]
    assert agreed.replayed == agreed.recorded  # an agreement is an agreement anywhere


def test_the_cli_prints_a_table_and_json(preset_world: World, monkeypatch: Any) -> None:
    world = preset_world
    world.open_dispute()
    world.advance(days=8)
    monkeypatch.setenv("FAIRDEAL_DATABASE_URL", str(world.app.settings.database_url))
    monkeypatch.setenv("FAIRDEAL_SANDBOX", "true")
    runner = CliRunner()
    other = OTHER[world.app.ctx.policy.name]
    table = runner.invoke(cli, ["whatif", "--policy", other, "--since", "2000-01-01"])
    assert table.exit_code == 0, table.output
    assert f"what if under '{other}': 1 disputes" in table.output
    assert "outcome buyer_favour" in table.output and "median hours" in table.output
    raw = runner.invoke(cli, ["whatif", "--policy", other, "--since", "2000-01-01", "--json"])
    assert raw.exit_code == 0, raw.output
    body = json.loads(raw.output)
    assert body["policy"] == other and body["replayed"] == 1
    bad = runner.invoke(cli, ["whatif", "--policy", "nope", "--since", "2000-01-01"])
    assert bad.exit_code == 2 and "neither a preset" in bad.output
