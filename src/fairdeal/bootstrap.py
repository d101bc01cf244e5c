"""The composition root: the one place that reads settings and wires adapters to services."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from fairdeal.adapters.calendar import HolidaysCalendar
from fairdeal.adapters.clock import SandboxClock, SystemClock
from fairdeal.adapters.db.engine import make_engine
from fairdeal.adapters.db.repository import SqlUnitOfWorkFactory
from fairdeal.adapters.ids import TimeOrderedIds
from fairdeal.config import Settings
from fairdeal.policies import all_policies, load_policy
from fairdeal.services.context import Context
from fairdeal.services.ports import Clock


@dataclass
class App:
    settings: Settings
    engine: Engine
    ctx: Context
    clock: Clock

    @property
    def sandbox_clock(self) -> SandboxClock | None:
        return self.clock if isinstance(self.clock, SandboxClock) else None


def bootstrap(settings: Settings | None = None, *, clock: Clock | None = None) -> App:
    settings = settings or Settings()
    policy = load_policy(settings.policy)
    engine = make_engine(settings.database_url)
    chosen_clock: Clock = clock or (SandboxClock(engine) if settings.sandbox else SystemClock())
    ctx = Context(
        uow=SqlUnitOfWorkFactory(engine, all_policies(policy)),
        clock=chosen_clock,
        policy=policy,
        policies=all_policies(policy),
        holidays=HolidaysCalendar(),
        ids=TimeOrderedIds(),
    )
    return App(settings, engine, ctx, chosen_clock)
