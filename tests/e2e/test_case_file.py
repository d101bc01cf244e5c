"""The case file (GET /disputes/{id}/case-file) over HTTP, on SQLite and PostgreSQL: what is
in the ZIP for each role, the hashes, who is refused, tampering caught by
``fairdeal audit verify-case-file``, and the PDF's text."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from e2e.support import Caller, World, assert_problem, png_bytes
from fairdeal.cli import app as cli
from fairdeal.services.case_file import verify_case_file
from fairdeal.services.users import create_user

NOTE = "Private: the seller has three similar cases this month."
RATIONALE = "The photo shows a cracked housing; the item still works."


def admin_of(world: World) -> Caller:
    made = create_user(
        world.app.ctx, role="admin", name="Admin", email="admin@e2e.test", allowed_roles={"admin"}
    )
    return Caller(world.http, made.api_token, made.user.id, "admin")


def decided_case(world: World) -> dict[str, Any]:
    """Escalated, a seller message, more evidence, a mediator's note and final decision."""
    order = world.shipped_order()
    opened = world.open_dispute(order)
    world.act(world.seller, opened, "messages", {"body": "Please check the box again."}, 201)
    extra = world.upload(world.buyer, png_bytes((10, 200, 10), 6), "second photo.png")
    world.act(world.buyer, opened, "evidence", {"file_id": extra["id"]}, 201)
    world.escalate_by_timeout(opened)
    world.act(world.mediator, opened, "assign")
    world.act(world.mediator, opened, "notes", {"body": NOTE}, 201)
    decided = world.act(
        world.mediator,
        opened,
        "decisions",
        {"solutions": [{"kind": "refund_only", "amount": "30.00"}], "rationale": RATIONALE},
        201,
    )
    decision = decided["mediation"]["decision"]
    return world.act(world.mediator, opened, f"decisions/{decision['id']}/finalize", {})


def download(caller: Caller, dispute_id: str) -> zipfile.ZipFile:
    response = caller.get(f"/disputes/{dispute_id}/case-file")
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "application/zip"
    assert f'filename="case-{dispute_id}.zip"' in response.headers["content-disposition"]
    return zipfile.ZipFile(io.BytesIO(response.content))


def pdf_text(archive: zipfile.ZipFile) -> str:
    reader = PdfReader(io.BytesIO(archive.read("case.pdf")))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_buyers_case_file_holds_the_case_with_matching_hashes(world: World) -> None:
    closed = decided_case(world)
    archive = download(world.buyer, closed["id"])
    names = sorted(archive.namelist())
    manifest = json.loads(archive.read("manifest.json"))
    evidence = [e for e in names if e.startswith("evidence/")]
    assert len(evidence) == 2 == len(closed["evidence"])
    assert {e.split("/")[1].split("-")[0] for e in evidence} == {
        e["file_id"] for e in closed["evidence"]
    }
    assert any(e.endswith("-second_photo.png") for e in evidence)
    assert names == sorted(
        ["case.pdf", "dispute.json", "timeline.json", "manifest.json", *evidence]
    )
    assert manifest["dispute_id"] == closed["id"]
    assert manifest["generated_at"].endswith("Z")
    assert [f["path"] for f in manifest["files"]] == [
        "case.pdf",
        "dispute.json",
        "timeline.json",
        *sorted(evidence, key=[f["path"] for f in manifest["files"]].index),
    ]
    for entry in manifest["files"]:
        content = archive.read(entry["path"])
        assert entry["size"] == len(content)
        assert entry["sha256"] == hashlib.sha256(content).hexdigest()
    # Evidence as stored: the same bytes GET /files/{id} streams.
    for path in evidence:
        file_id = path.split("/")[1].split("-")[0]
        assert archive.read(path) == world.buyer.get(f"/files/{file_id}").content
    # dispute.json is what GET /disputes/{id} answers the same caller.
    assert json.loads(archive.read("dispute.json")) == world.dispute(closed["id"], as_=world.buyer)
    # The chain head is the one the database records for the dispute.
    timeline = json.loads(archive.read("timeline.json"))
    assert manifest["timeline_head"] == timeline[-1]["hash"]
    assert [t["summary"] for t in timeline] == [t["summary"] for t in closed["timeline"]]
    zipped = world.buyer.get(f"/disputes/{closed['id']}/case-file").content
    assert verify_case_file(io.BytesIO(zipped)) == []


def test_a_party_gets_no_mediator_notes_and_the_mediator_does(world: World) -> None:
    closed = decided_case(world)
    for party in (world.buyer, world.seller):
        archive = download(party, closed["id"])
        dispute = json.loads(archive.read("dispute.json"))
        assert "notes" not in dispute
        assert NOTE not in pdf_text(archive)
        assert all(NOTE.encode() not in archive.read(n) for n in archive.namelist())
    staff = download(world.mediator, closed["id"])
    assert [n["body"] for n in json.loads(staff.read("dispute.json"))["notes"]] == [NOTE]
    assert "three similar cases" in pdf_text(staff)
    admin = download(admin_of(world), closed["id"])
    assert [n["body"] for n in json.loads(admin.read("dispute.json"))["notes"]] == [NOTE]


def test_the_pdf_opens_and_holds_the_outcome_and_its_explanation(world: World) -> None:
    closed = decided_case(world)
    text = " ".join(pdf_text(download(world.buyer, closed["id"])).split())
    explanation = " ".join(closed["outcome"]["explanation"].split())
    assert explanation[:60] in text
    assert "cracked housing" in text  # the mediator's rationale
    assert "30.00 EUR" in text
    assert closed["outcome"]["rule"] in text
    assert "Please check the box again." in text
    assert "scheduled" in text  # the refund's state


def test_strangers_get_404_and_the_platform_and_other_mediators_403(world: World) -> None:
    closed = decided_case(world)
    path = f"/disputes/{closed['id']}/case-file"
    assert_problem(world.other_buyer.get(path), 404, "not_found")
    assert_problem(world.other_seller.get(path), 404, "not_found")
    assert_problem(world.buyer.get("/disputes/dsp_nope/case-file"), 404, "not_found")
    assert_problem(world.anonymous.get(path), 401, "unauthenticated")
    assert_problem(world.platform.get(path), 403, "forbidden")
    assert_problem(world.user("mediator").get(path), 403, "forbidden")


def test_an_open_dispute_without_mediation_has_a_case_file_too(world: World) -> None:
    opened = world.open_dispute()
    archive = download(world.seller, opened["id"])
    dispute = json.loads(archive.read("dispute.json"))
    assert dispute["status"] == "awaiting_seller_response" and dispute["outcome"] is None
    assert "No decision yet" in pdf_text(archive)


def _rewrite(source: bytes, target: Path, change: Any) -> None:
    """Copy a ZIP entry by entry, letting ``change(name, data)`` edit (or drop: None) each."""
    with zipfile.ZipFile(io.BytesIO(source)) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = change(name, old.read(name))
            if data is not None:
                new.writestr(name, data)


@pytest.mark.parametrize("tamper", ["edit_evidence", "drop_file", "add_file", "edit_timeline"])
def test_verify_case_file_catches_tampering(world: World, tmp_path: Path, tamper: str) -> None:
    closed = decided_case(world)
    original = world.buyer.get(f"/disputes/{closed['id']}/case-file").content
    good = tmp_path / "good.zip"
    good.write_bytes(original)
    runner = CliRunner()
    passed = runner.invoke(cli, ["audit", "verify-case-file", str(good)])
    assert passed.exit_code == 0, passed.output
    assert "every file matches" in passed.output

    bad = tmp_path / "bad.zip"
    expected = {
        "edit_evidence": "SHA-256 does not match",
        "drop_file": "missing from the ZIP",
        "add_file": "not in the manifest (added)",
        "edit_timeline": "timeline",
    }[tamper]

    def change(name: str, data: bytes) -> bytes | None:
        if tamper == "edit_evidence" and name.startswith("evidence/"):
            return data[:-1] + bytes([data[-1] ^ 1])
        if tamper == "drop_file" and name == "dispute.json":
            return None
        if tamper == "edit_timeline" and name in ("timeline.json", "manifest.json"):
            # A forger who edits a timeline summary and recomputes the manifest's hashes: the
            # chain no longer ends at the recorded head.
            if name == "timeline.json":
                entries = json.loads(data)
                entries[-1]["summary"] = "Refund of 400.00 EUR."
                return json.dumps(entries).encode()
            return None
        return data

    _rewrite(original, bad, change)
    if tamper == "add_file":
        with zipfile.ZipFile(bad, "a") as archive:
            archive.writestr("evidence/extra.png", png_bytes())
    if tamper == "edit_timeline":
        with zipfile.ZipFile(io.BytesIO(original)) as old:
            manifest = json.loads(old.read("manifest.json"))
        with zipfile.ZipFile(bad, "a") as archive:
            timeline = archive.read("timeline.json")
            for entry in manifest["files"]:
                if entry["path"] == "timeline.json":
                    entry["sha256"] = hashlib.sha256(timeline).hexdigest()
                    entry["size"] = len(timeline)
            archive.writestr("manifest.json", json.dumps(manifest))
    failed = runner.invoke(cli, ["audit", "verify-case-file", str(bad)])
    assert failed.exit_code == 1, failed.output
    assert expected in failed.output


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    assert verify_case_file(str(junk))[0].startswith("not a readable ZIP")
