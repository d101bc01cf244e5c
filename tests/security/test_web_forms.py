"""Web forms refuse text PostgreSQL cannot store (U+0000), as the API does: a clear 422 page,
nothing changed, the same on both databases (it was a 500 on PostgreSQL)."""

from __future__ import annotations

from fairdeal.services import disputes
from security.support import Site
from webpages import csrf_token, submit_login


def test_a_nul_character_in_a_form_field_is_refused_and_changes_nothing(site: Site) -> None:
    dispute_id = site.dispute("negotiating")
    alice = site.actor("alice")
    before = disputes.get_dispute(site.app.ctx, alice, dispute_id).dispute
    with site.client() as http:
        assert submit_login(http, "alice").status_code == 303
        page = http.get(f"/disputes/{dispute_id}")
        response = http.post(
            f"/disputes/{dispute_id}/messages",
            data={"csrf_token": csrf_token(page.text), "body": "pay me\x00 outside"},
        )
    assert response.status_code == 422
    assert "U+0000" in response.text
    after = disputes.get_dispute(site.app.ctx, alice, dispute_id).dispute
    assert after.version == before.version and len(after.messages) == len(before.messages)


def test_a_nul_character_in_the_login_form_is_refused(site: Site) -> None:
    with site.client() as http:
        page = http.get("/login")
        response = http.post(
            "/login",
            data={
                "email": "alice@demo.test\x00",
                "password": "x",
                "csrf_token": csrf_token(page.text),
            },
        )
    assert response.status_code == 422
