"""Idempotency-Key on every write (API.md): PATCH and DELETE as well as POST, and requests
compared by their meaning -- the parsed JSON, the uploaded file's digest -- not their bytes.
On SQLite and PostgreSQL."""

from __future__ import annotations

import json

from httpx import Response

from e2e.support import World, assert_problem, ok, png_bytes


def test_a_patch_with_a_reused_key_and_another_body_is_refused(world: World) -> None:
    dispute = world.open_dispute()
    path = f"/disputes/{dispute['id']}"
    key = {"Idempotency-Key": "edit-1"}
    first = world.buyer.patch(path, {"description": "Broken screen."}, headers=key)
    edited = ok(first)
    assert edited["description"] == "Broken screen."
    # The same edit again: the first answer, nothing applied twice (the version stays).
    again = world.buyer.patch(path, {"description": "Broken screen."}, headers=key)
    assert again.json() == edited and again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"]
    # The same key with another body: refused, and the other body is not applied.
    assert_problem(
        world.buyer.patch(path, {"description": "Something else."}, headers=key),
        422,
        "idempotency_key_reused",
    )
    now = world.dispute(dispute["id"])
    assert now["description"] == "Broken screen." and now["version"] == edited["version"]


def test_a_repeated_delete_returns_the_first_answer(world: World) -> None:
    dispute = world.open_dispute()
    file_id = world.upload(world.buyer)["id"]
    added = world.act(world.buyer, dispute, "evidence", {"file_id": file_id}, 201)
    evidence_id = added["evidence"][-1]["id"]
    path = f"/disputes/{dispute['id']}/evidence/{evidence_id}"
    key = {"Idempotency-Key": "remove-evidence-1"}
    first = world.buyer.delete(path, headers=key)
    assert first.status_code < 300, first.text
    again = world.buyer.delete(path, headers=key)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    # Without the key, the repeat is a new request: the evidence is gone.
    assert_problem(world.buyer.delete(path), 404, "not_found")


def test_json_is_compared_by_meaning_not_bytes(world: World) -> None:
    dispute = world.open_dispute()
    path = f"/disputes/{dispute['id']}/messages"
    key = {"Idempotency-Key": "message-1", "Content-Type": "application/json"}
    first = world.buyer.request(
        "POST", path, content=b'{"body": "Where is my refund?"}', headers=key
    )
    assert first.status_code == 201, first.text
    # Other whitespace and member order, an escaped character: the same JSON.
    same = b'{ "body" :\n "Where is my refund\\u003f" }'
    again = world.buyer.request("POST", path, content=same, headers=key)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert len(world.dispute(dispute["id"])["messages"]) == 1
    other = json.dumps({"body": "Where is my refund!"}).encode()
    assert_problem(
        world.buyer.request("POST", path, content=other, headers=key),
        422,
        "idempotency_key_reused",
    )


def test_a_multipart_retry_with_a_new_boundary_is_the_same_upload(world: World) -> None:
    photo = png_bytes((10, 200, 10))

    def upload(boundary: str, content: bytes) -> bytes:
        return (
            (
                f"--{boundary}\r\n"
                'Content-Disposition: form-data; name="file"; filename="parcel.png"\r\n'
                "Content-Type: image/png\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )

    def send(boundary: str, content: bytes) -> Response:
        return world.buyer.request(
            "POST",
            "/files",
            content=upload(boundary, content),
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Idempotency-Key": "upload-1",
            },
        )

    first = send("boundary-one-1111", photo)
    assert first.status_code == 201, first.text
    again = send("another-boundary-2222", photo)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    # Another file under the same key: not the same request.
    assert_problem(
        send("boundary-three-3333", png_bytes((200, 200, 10))),
        422,
        "idempotency_key_reused",
    )
