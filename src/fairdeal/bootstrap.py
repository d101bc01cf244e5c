"""The composition root: the one place that reads settings and wires adapters to services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

from sqlalchemy import Engine

from fairdeal.adapters.calendar import HolidaysCalendar
from fairdeal.adapters.clock import SandboxClock, SystemClock
from fairdeal.adapters.db.audit import SqlAuditChains
from fairdeal.adapters.db.engine import make_engine
from fairdeal.adapters.db.notifications import SqlNotificationUnitOfWorkFactory
from fairdeal.adapters.db.repository import SqlUnitOfWorkFactory
from fairdeal.adapters.ids import TimeOrderedIds
from fairdeal.adapters.notifications.render import JinjaEmailRenderer
from fairdeal.adapters.notifications.smtp import LoggingMailer, SmtpMailer
from fairdeal.adapters.notifications.webhooks import HttpWebhookSender
from fairdeal.config import Settings
from fairdeal.policies import all_policies, load_policy
from fairdeal.services.context import Context
from fairdeal.services.notifications import Mailer, Notifier
from fairdeal.services.ports import AuditChains, Clock


@dataclass
class App:
    settings: Settings
    engine: Engine
    ctx: Context
    clock: Clock
    notifier: Notifier | None = None
    # The local mail catcher that ``fairdeal demo`` runs (shown at /dev/mailbox).
    mailbox: Any = None
    # The stored hash chains, for ``fairdeal audit verify`` (ADR 0003).
    audit: AuditChains | None = None

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
    notifier = Notifier(
        uow=SqlNotificationUnitOfWorkFactory(engine, all_policies(policy)),
        clock=chosen_clock,
        renderer=JinjaEmailRenderer(),
        mailer=_mailer(settings),
        webhooks=HttpWebhookSender(
            allow_private=(
                settings.sandbox
                if settings.webhook_allow_private is None
                else settings.webhook_allow_private
            ),
            timeout=settings.webhook_timeout_seconds,
        ),
        ids=ctx.ids,
        public_url=settings.public_url,
        mail_domain=(parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "fairdeal.invalid"),
        lease=timedelta(seconds=settings.delivery_lease_seconds),
        batch_size=settings.delivery_batch_size,
    )
    return App(settings, engine, ctx, chosen_clock, notifier, audit=SqlAuditChains(engine))


def _mailer(settings: Settings) -> Mailer:
    if not settings.smtp_host:
        return LoggingMailer()
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        tls=settings.smtp_tls,
        username=settings.smtp_username,
        password=settings.smtp_password,
        timeout=settings.smtp_timeout_seconds,
    )
