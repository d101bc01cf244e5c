"""Evidence files in S3-compatible object storage (FAIRDEAL_STORAGE_URL=s3://bucket/prefix)
through the API, against a moto S3 server the tests start: an upload lands in the bucket
under the prefix (nothing stays on local disk), downloads carry the right headers and bytes,
the access rules hold, and a missing object is a 404. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

from e2e.support import ok, png_bytes, running_world
from objectstore import Bucket


def test_evidence_files_live_in_the_bucket_and_obey_the_access_rules(
    db_url: str, tmp_path: Path, s3_bucket: Bucket
) -> None:
    with running_world(db_url, tmp_path / "local", **s3_bucket.settings()) as world:
        uploaded = ok(
            world.buyer.post(
                "/files", files={"file": ("broken lamp.png", png_bytes(), "image/png")}
            ),
            201,
        )
        (key,) = s3_bucket.keys()
        assert key.startswith("evidence/")
        stored = s3_bucket.client().get_object(Bucket=s3_bucket.name, Key=key)["Body"].read()
        assert hashlib.sha256(stored).hexdigest() == uploaded["sha256"]
        # Nothing stays on local disk but the (empty) scratch folder.
        leftovers = [p for p in (tmp_path / "local").rglob("*") if p.is_file()]
        assert leftovers == []

        mine = world.buyer.get(f"/files/{uploaded['id']}")
        assert mine.status_code == 200 and mine.content == stored
        assert mine.headers["content-type"] == "image/png"
        assert mine.headers["content-length"] == str(len(stored)) == str(uploaded["size"])
        assert mine.headers["content-disposition"].startswith("attachment;")
        assert "broken" in mine.headers["content-disposition"]
        assert mine.headers["x-content-type-options"] == "nosniff"
        assert mine.headers["cache-control"] == "private, max-age=0"

        # Before a dispute names it, the seller may not read it; after, the parties may.
        refused = world.seller.get(f"/files/{uploaded['id']}")
        assert refused.status_code == 404 and refused.json()["code"] == "not_found"
        dispute = world.open_dispute(evidence_file_ids=[uploaded["id"]])
        assert world.seller.get(f"/files/{uploaded['id']}").content == stored
        for stranger in (world.other_buyer, world.other_seller):
            answer = stranger.get(f"/files/{uploaded['id']}")
            assert answer.status_code == 404 and answer.json()["code"] == "not_found"
        assert dispute["id"]

        # The object gone from the bucket (a lifecycle rule, an operator): 404, not a 500.
        s3_bucket.client().delete_object(Bucket=s3_bucket.name, Key=key)
        gone = world.buyer.get(f"/files/{uploaded['id']}")
        assert gone.status_code == 404 and gone.json()["code"] == "not_found"


def test_a_refused_upload_leaves_nothing_in_the_bucket(
    db_url: str, tmp_path: Path, s3_bucket: Bucket
) -> None:
    with running_world(db_url, tmp_path / "local", **s3_bucket.settings()) as world:
        refused = world.buyer.post(
            "/files", files={"file": ("run.exe", b"MZ\x90\x00" + b"\x00" * 100, "image/png")}
        )
        assert refused.status_code == 415 and refused.json()["code"] == "unsupported_file_type"
    assert s3_bucket.keys() == []


def test_the_case_file_reads_its_evidence_from_the_bucket(
    db_url: str, tmp_path: Path, s3_bucket: Bucket
) -> None:
    """Issue 15: the case-file ZIP takes every evidence file from the object store, byte for
    byte as stored, and its manifest hashes what is in the ZIP."""
    with running_world(db_url, tmp_path / "local", **s3_bucket.settings()) as world:
        uploaded = ok(
            world.buyer.post("/files", files={"file": ("lamp.png", png_bytes(), "image/png")}),
            201,
        )
        dispute = world.open_dispute(evidence_file_ids=[uploaded["id"]])
        (key,) = s3_bucket.keys()
        stored = s3_bucket.client().get_object(Bucket=s3_bucket.name, Key=key)["Body"].read()

        answer = world.buyer.get(f"/disputes/{dispute['id']}/case-file")
        assert answer.status_code == 200
        archive = zipfile.ZipFile(io.BytesIO(answer.content))
        [evidence] = [n for n in archive.namelist() if n.startswith("evidence/")]
        assert uploaded["id"] in evidence
        assert archive.read(evidence) == stored
        manifest = json.loads(archive.read("manifest.json"))
        listed = {f["path"]: f for f in manifest["files"]}
        assert listed[evidence]["sha256"] == hashlib.sha256(stored).hexdigest()
        assert listed[evidence]["size"] == len(stored)
