"""Secrets: outside sandbox mode the app refuses to start with a missing, short or well-known
FAIRDEAL_SECRET_KEY or FAIRDEAL_PLATFORM_TOKEN; API tokens are stored only as hashes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from e2e.support import PLATFORM_TOKEN, World, ok
from fairdeal.adapters.db import tables
from fairdeal.bootstrap import bootstrap
from fairdeal.config import InsecureSettings, Settings
from fairdeal.entrypoints.api.app import create_app

GOOD_KEY = "Vx3-kq9ZpL0_sQ2wE7rT5yU8iO1aB4nM6cD"  # random-looking, 35 characters


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        pytest.param({}, "FAIRDEAL_SECRET_KEY is not set", id="key-missing"),
        pytest.param({"secret_key": "s3cr3t-but-short"}, "at least 32", id="key-short"),
        pytest.param({"secret_key": "changeme" * 4}, "well-known", id="key-changeme-padded"),
        pytest.param({"secret_key": "x" * 40}, "well-known", id="key-one-letter"),
        pytest.param({"secret_key": "ab" * 20}, "well-known", id="key-two-letters"),
        pytest.param({"secret_key": "secret" * 6}, "well-known", id="key-secret-repeated"),
        pytest.param(
            {"secret_key": GOOD_KEY, "platform_token": "tok"},
            "FAIRDEAL_PLATFORM_TOKEN must be at least 32",
            id="platform-token-short",
        ),
        pytest.param(
            {"secret_key": GOOD_KEY, "platform_token": PLATFORM_TOKEN},
            "FAIRDEAL_PLATFORM_TOKEN is a well-known",
            id="platform-token-of-the-tests",
        ),
    ],
)
def test_weak_secrets_are_refused_outside_sandbox_mode(
    tmp_path: Path, settings: dict[str, str], complaint: str
) -> None:
    chosen = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", **settings)  # type: ignore[arg-type]
    with pytest.raises(InsecureSettings, match=complaint):
        chosen.check_secrets()
    app = bootstrap(chosen)
    try:
        with pytest.raises(InsecureSettings, match=complaint):
            create_app(app)  # what `fairdeal serve` runs: it does not start
    finally:
        app.engine.dispose()
    # Sandbox mode (the demo, the tests) accepts them.
    Settings(sandbox=True, **settings).check_secrets()  # type: ignore[arg-type]


def test_good_secrets_are_accepted(tmp_path: Path) -> None:
    Settings(secret_key=GOOD_KEY, platform_token="fd_" + "Q7w" * 12).check_secrets()


def test_the_environment_is_read_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAIRDEAL_SECRET_KEY", "changeme")
    with pytest.raises(InsecureSettings, match="at least 32"):
        Settings().check_secrets()


def test_api_tokens_are_stored_only_as_hashes(world: World) -> None:
    tokens = {PLATFORM_TOKEN, world.buyer.token, world.seller.token, world.mediator.token}
    new_user = {"role": "buyer", "name": "New", "email": "new@e2e.test", "password": "pw12345678"}
    key = {"Idempotency-Key": "make-new-user"}
    first = world.platform.post("/users", new_user, headers=key)
    made = ok(first, 201)
    tokens.add(made["api_token"])
    # The keyed request's stored answer hands the token out again only to its caller.
    again = world.platform.post("/users", new_user, headers=key)
    assert (again.status_code, again.content) == (201, first.content)
    world.open_dispute()  # some activity, so that every table has rows
    # No table, no text column, holds a token as it was handed out.
    with world.app.engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            for row in conn.execute(select(*table.columns)).mappings():
                for column, value in row.items():
                    shown = str(value)
                    for token in tokens:
                        assert token not in shown, f"{table.name}.{column} holds an API token"
        hashes = set(conn.execute(select(tables.users.c.token_hash)).scalars())
        stored_passwords = set(conn.execute(select(tables.users.c.password_hash)).scalars())
    for token in tokens:
        assert hashlib.sha256(token.encode()).hexdigest() in hashes
    assert "pw12345678" not in stored_passwords
    assert any(p and p.startswith("$argon2") for p in stored_passwords)
