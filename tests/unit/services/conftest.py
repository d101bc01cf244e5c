"""Service tests on the in-memory fakes (tests/fakes.py): no database, no files, no network."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fairdeal.domain.dispute import Actor, Role
from fairdeal.services import users
from fairdeal.services.context import Context
from fakes import FakeClock, fake_context


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ctx(clock: FakeClock, tmp_path: Path) -> Context:
    return fake_context(clock=clock, scratch=tmp_path)


MakeUser = Callable[[str, str], Actor]


@pytest.fixture
def make_user(ctx: Context) -> MakeUser:
    """A user of this role and name made through the services; answers its actor."""

    def make(role: str, name: str) -> Actor:
        email = f"{name.lower()}@example.test"
        created = users.create_user(ctx, role=role, name=name, email=email)
        return Actor(created.user.id, Role(role))

    return make
