"""The case file: the whole dispute as one ZIP that its recipient can check offline.

``case_material`` gathers what one caller may put in their case file (the buyer, the seller,
the dispute's own mediator and admins; strangers get ``NotFound`` as for the dispute itself);
``write_case_file`` writes the ZIP: the parts the entrypoint rendered (``case.pdf``,
``dispute.json``), ``timeline.json`` (the timeline's hash chain as stored), every evidence file
as stored (read through the file storage port, so any storage works), and ``manifest.json``
with each file's SHA-256 and size and the timeline's chain head. ``verify_case_file`` checks a
ZIP against its manifest and re-walks the timeline chain (docs/case-file.md)."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import IO, Any

from fairdeal.domain import audit
from fairdeal.domain.dispute import Dispute
from fairdeal.domain.errors import Forbidden
from fairdeal.domain.roles import Actor, Role
from fairdeal.services.context import Context, load_dispute
from fairdeal.services.disputes import DisputeView, view_of
from fairdeal.services.ports import FileRecord

CASE_PDF = "case.pdf"
DISPUTE_JSON = "dispute.json"
TIMELINE_JSON = "timeline.json"
MANIFEST = "manifest.json"
EVIDENCE_DIR = "evidence/"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class CaseMaterial:
    """What goes into one caller's case file: their view of the dispute, the evidence files'
    records (in the order the dispute lists them) and the names of the people in the case."""

    view: DisputeView
    files: list[FileRecord]
    names: dict[str, str] = field(default_factory=dict)

    @property
    def dispute(self) -> Dispute:
        return self.view.dispute

    @property
    def timeline_head(self) -> str | None:
        timeline = self.view.dispute.timeline
        return timeline[-1].hash if timeline else None


def may_download(actor: Actor, dispute: Dispute) -> bool:
    """The parties, the dispute's assigned mediator and admins (the platform and the other
    mediators read the dispute but are not given its case file)."""
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.BUYER:
        return actor.user_id == dispute.buyer_id
    if actor.role is Role.SELLER:
        return actor.user_id == dispute.seller_id
    if actor.role is Role.MEDIATOR:
        return dispute.mediation is not None and dispute.mediation.mediator_id == actor.user_id
    return False


def case_material(ctx: Context, actor: Actor, dispute_id: str) -> CaseMaterial:
    with ctx.uow(write=False) as uow:
        dispute = load_dispute(uow, actor, dispute_id)
        if not may_download(actor, dispute):
            raise Forbidden(
                "the case file is for the dispute's parties, its assigned mediator and admins"
            )
        order = uow.orders.get(dispute.order_id)
        records: list[FileRecord] = []
        seen: set[str] = set()
        for evidence in dispute.evidence:
            if evidence.file_id in seen:
                continue
            seen.add(evidence.file_id)
            record = uow.files.get(evidence.file_id)
            if record is not None:
                records.append(record)
        people = {dispute.buyer_id, dispute.seller_id, *(m.author_id for m in dispute.messages)}
        if dispute.mediation is not None and dispute.mediation.mediator_id:
            people.add(dispute.mediation.mediator_id)
        names = {}
        for user_id in sorted(people):
            user = uow.users.get(user_id)
            names[user_id] = user.name if user is not None else user_id
    assert order is not None
    return CaseMaterial(view_of(ctx, actor, dispute, order), records, names)


def evidence_path(record: FileRecord) -> str:
    """``evidence/<file id>-<filename>``, the name made safe for any unzip tool."""
    name = _UNSAFE.sub("_", record.filename).strip("._") or "file"
    return f"{EVIDENCE_DIR}{_UNSAFE.sub('_', record.id)}-{name}"


def timeline_entries(dispute: Dispute) -> list[dict[str, object]]:
    """The timeline as its hash chain stores it: each entry's content and its hash."""
    return [{**entry.stored_content(), audit.HASH_KEY: entry.hash} for entry in dispute.timeline]


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).encode() + b"\n"


def write_case_file(
    target: IO[bytes],
    *,
    dispute_id: str,
    generated_at: datetime,
    timeline_head: str | None,
    parts: Iterable[tuple[str, bytes]],
    evidence: Iterable[tuple[str, Iterable[bytes]]],
) -> dict[str, Any]:
    """Write the ZIP to ``target``: the given parts, the evidence streamed chunk by chunk,
    then the manifest over all of them. Returns the manifest."""
    listed: list[dict[str, object]] = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in parts:
            archive.writestr(path, content)
            listed.append(
                {"path": path, "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
            )
        for path, chunks in evidence:
            digest, size = hashlib.sha256(), 0
            with archive.open(path, "w", force_zip64=True) as out:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            listed.append({"path": path, "sha256": digest.hexdigest(), "size": size})
        manifest = {
            "dispute_id": dispute_id,
            "generated_at": generated_at.isoformat().replace("+00:00", "Z"),
            "timeline_head": timeline_head,
            "files": listed,
        }
        archive.writestr(MANIFEST, dumps(manifest))
    return manifest


def verify_case_file(source: str | IO[bytes]) -> list[str]:
    """Every problem found, first the most basic; empty when the case file is intact: the
    manifest lists every other file with its exact SHA-256 and size, nothing is missing or
    extra, ``dispute.json`` is the manifest's dispute, and ``timeline.json`` is an unbroken
    hash chain from the dispute's genesis to the manifest's ``timeline_head``."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        return [f"not a readable ZIP file: {error}"]
    with archive:
        names = [info.filename for info in archive.infolist() if not info.is_dir()]
        if len(set(names)) != len(names):
            return ["the ZIP holds two entries with the same name"]
        if MANIFEST not in names:
            return [f"{MANIFEST} is missing"]
        try:
            manifest = json.loads(archive.read(MANIFEST))
            files = manifest["files"]
            dispute_id = manifest["dispute_id"]
            head = manifest["timeline_head"]
            listed = {str(entry["path"]): entry for entry in files}
        except (ValueError, KeyError, TypeError) as error:
            return [f"{MANIFEST} is not a case-file manifest: {error!r}"]
        problems: list[str] = []
        for name in names:
            if name != MANIFEST and name not in listed:
                problems.append(f"{name}: in the ZIP but not in the manifest (added)")
            if PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts:
                problems.append(f"{name}: unsafe path")
        for path, entry in listed.items():
            if path not in names:
                problems.append(f"{path}: listed in the manifest but missing from the ZIP")
                continue
            digest, size = hashlib.sha256(), 0
            with archive.open(path) as handle:
                while block := handle.read(1024 * 1024):
                    digest.update(block)
                    size += len(block)
            if size != entry.get("size"):
                problems.append(f"{path}: size {size}, the manifest says {entry.get('size')}")
            if digest.hexdigest() != entry.get("sha256"):
                problems.append(f"{path}: SHA-256 does not match the manifest (changed)")
        for required in (CASE_PDF, DISPUTE_JSON, TIMELINE_JSON):
            if required not in listed:
                problems.append(f"{required}: not in the manifest")
        if problems:
            return problems
        try:
            dispute = json.loads(archive.read(DISPUTE_JSON))
            timeline = json.loads(archive.read(TIMELINE_JSON))
        except ValueError as error:
            return [f"dispute.json or timeline.json is not JSON: {error}"]
        if not isinstance(dispute, dict) or dispute.get("id") != dispute_id:
            problems.append(f"{DISPUTE_JSON}: is not dispute {dispute_id}")
        entries = [
            audit.StoredEntry(
                {k: v for k, v in item.items() if k != audit.HASH_KEY}, item.get(audit.HASH_KEY)
            )
            for item in timeline
            if isinstance(item, dict)
        ]
        shown = dispute.get("timeline") if isinstance(dispute, dict) else None
        if isinstance(shown, list) and [(t.get("type"), t.get("summary")) for t in shown] != [
            (t.get("type"), t.get("summary")) for t in timeline if isinstance(t, dict)
        ]:
            problems.append(f"{DISPUTE_JSON}: its timeline differs from {TIMELINE_JSON}")
        broken, _ = audit.first_break("timeline", str(dispute_id), entries, head)
        if broken is not None:
            problems.append(f"{TIMELINE_JSON}: {broken}")
        return problems
