"""The composition root: the one place that reads settings and wires adapters to services.

Every entry point (the API and its web pages, the worker and its notification relay, the CLI,
the demo) starts here: ``bootstrap`` answers an ``App`` whose ``ctx`` is the services'
context. Nothing outside this module and the adapters themselves builds an adapter; the few
things an entry point needs beyond the use cases (the schema's state, the readiness probe,
warming the holiday calendars) are methods of ``App``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

from sqlalchemy import Engine, text

from fairdeal.adapters import calendar
from fairdeal.adapters.calendar import HolidaysCalendar
from fairdeal.adapters.clock import SandboxClock, SystemClock
from fairdeal.adapters.db import migrate
from fairdeal.adapters.db.audit import SqlAuditChains
from fairdeal.adapters.db.engine import begin, make_engine
from fairdeal.adapters.db.metrics import SqlMetricsStore
from fairdeal.adapters.db.notifications import SqlNotificationUnitOfWorkFactory
from fairdeal.adapters.db.repository import SqlUnitOfWorkFactory
from fairdeal.adapters.db.security import SqlSecurityStore
from fairdeal.adapters.ids import TimeOrderedIds
from fairdeal.adapters.notifications.render import JinjaEmailRenderer
from fairdeal.adapters.notifications.smtp import LoggingMailer, SmtpMailer
from fairdeal.adapters.notifications.webhooks import HttpWebhookSender
from fairdeal.adapters.storage.inspect import PillowInspector
from fairdeal.adapters.storage.local import LocalFileStorage
from fairdeal.config import Settings
from fairdeal.policies import all_policies, load_policy
from fairdeal.services.access import LockoutPolicy
from fairdeal.services.context import Context
from fairdeal.services.notifications import Mailer, Notifier
from fairdeal.services.payments import PaymentGateway, Payments
from fairdeal.services.ports import AuditChains, Clock, FileStorage


@dataclass
class App:
    """The wired application: settings, the engine, and the services' context."""

    settings: Settings
    engine: Engine
    ctx: Context
    clock: Clock
    # The local mail catcher that ``fairdeal demo`` runs (shown at /dev/mailbox).
    mailbox: Any = None
    # The read replica's engine (FAIRDEAL_DATABASE_REPLICA_URL), when there is one.
    replica_engine: Engine | None = None
    # What reads the database in a thread of its own (the metrics' background refresh):
    # each is waited for by ``dispose`` before the pool closes under it.
    on_dispose: list[Callable[[], None]] = field(default_factory=list)

    # The context carries the notifier and the audit chains; these read (and, for tests and
    # benchmarks that swap the notifier, write) the context's, so there is one of each.
    @property
    def notifier(self) -> Notifier | None:
        return self.ctx.notifier

    @notifier.setter
    def notifier(self, notifier: Notifier | None) -> None:
        self.ctx.notifier = notifier

    @property
    def audit(self) -> AuditChains | None:
        """The stored hash chains, for ``fairdeal audit verify`` (ADR 0003)."""
        return self.ctx.audit

    @property
    def sandbox_clock(self) -> SandboxClock | None:
        return self.clock if isinstance(self.clock, SandboxClock) else None

    # --- what entry points need beyond the use cases ---------------------------------------

    def upgrade_schema(self) -> None:
        """Apply pending migrations."""
        migrate.upgrade(self.engine)

    def schema_revisions(self) -> tuple[str | None, str | None]:
        """(the database's revision, the code's head revision)."""
        return migrate.pending(self.engine)

    def schema_drift(self) -> list[object]:
        """Differences between the models and the migrated database (empty when in step)."""
        return migrate.drift(self.engine)

    def dispose(self) -> None:
        """Close every pooled connection, the replica's too: what a command or a test does when
        it is done with the application (a connection left to the garbage collector warns).
        A connection a background thread holds when the pool is disposed goes back to the
        old pool, which nobody closes: the tests' psycopg "deleted while still open" warning,
        traced to the metrics' refresh (tests/leaks.py named it)."""
        for finish in self.on_dispose:
            finish()
        self.engine.dispose()
        if self.replica_engine is not None:
            self.replica_engine.dispose()

    def ready(self) -> str | None:
        """None when the database answers and its schema is current, else what is wrong."""
        try:
            with begin(self.engine, write=False) as conn:
                conn.execute(text("SELECT 1"))
                conn.rollback()
            current = migrate.is_current(self.engine)
        except Exception:
            return "unreachable"
        return None if current else "migrations pending"

    @staticmethod
    def warm_up() -> None:
        """Load the holiday calendars now rather than on the first refund (performance.md)."""
        calendar.warm_up()


def file_storage(settings: Settings) -> FileStorage:
    """Evidence files on local disk (FAIRDEAL_STORAGE_DIR, the default) or in S3-compatible
    object storage (FAIRDEAL_STORAGE_URL=s3://bucket/prefix; adapters/storage/s3.py). Uploads
    are assembled in FAIRDEAL_STORAGE_DIR's scratch folder either way."""
    url = settings.storage_url
    if not url:
        return LocalFileStorage(settings.storage_dir)
    from fairdeal.adapters.storage.s3 import S3FileStorage

    return S3FileStorage.from_url(
        url,
        scratch=settings.storage_dir,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
    )


def bootstrap(settings: Settings | None = None, *, clock: Clock | None = None) -> App:
    settings = settings or Settings()
    policy = load_policy(settings.policy)
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    chosen_clock: Clock = clock or (SandboxClock(engine) if settings.sandbox else SystemClock())
    uow: Any = SqlUnitOfWorkFactory(engine, all_policies(policy))
    replica = None
    if settings.database_replica_url:
        # List and read endpoints may read from a streaming replica (adapters/db/replica.py).
        from fairdeal.adapters.db.replica import (
            ReplicaHealth,
            RoutingUnitOfWorkFactory,
            make_replica_engine,
        )

        replica = make_replica_engine(
            settings.database_replica_url, pool_size=settings.database_pool_size
        )
        uow = RoutingUnitOfWorkFactory(
            uow,
            SqlUnitOfWorkFactory(replica, all_policies(policy)),
            ReplicaHealth(replica, settings.replica_max_lag_seconds),
        )
    ctx = Context(
        uow=uow,
        clock=chosen_clock,
        policy=policy,
        policies=all_policies(policy),
        holidays=HolidaysCalendar(),
        ids=TimeOrderedIds(),
        storage=file_storage(settings),
        inspector=PillowInspector(),
        security=SqlSecurityStore(engine),
        audit=SqlAuditChains(engine),
        lockout=lockout_policy(settings),
    )
    ctx.metrics = SqlMetricsStore(engine)  # docs/metrics.md
    ctx.notifier = Notifier(
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
    ctx.payments = payments(settings, engine, chosen_clock)
    return App(settings, engine, ctx, chosen_clock, replica_engine=replica)


def payments(settings: Settings, engine: Engine, clock: Clock) -> Payments:
    """The payment gateways FAIRDEAL_PAYMENTS asks for (docs/payments.md)."""
    from fairdeal.adapters.payments.marketplace import MarketplaceGateway
    from fairdeal.adapters.payments.sandbox import SandboxGateway

    mode = settings.payments_mode
    marketplace = MarketplaceGateway()
    refunds: PaymentGateway
    payouts: PaymentGateway = marketplace
    if mode == "sandbox":
        refunds = payouts = SandboxGateway(
            engine, clock, latency=settings.sandbox_payment_latency_seconds
        )
    elif mode == "stripe":
        refunds = _stripe_gateway(settings)
    else:
        refunds = marketplace
    return Payments(
        refunds=refunds,
        payouts=payouts,
        lease=timedelta(seconds=settings.payment_lease_seconds),
        poll=timedelta(seconds=settings.payment_poll_seconds),
    )


def _stripe_gateway(settings: Settings) -> PaymentGateway:
    """Refunds through Stripe (payouts go through the marketplace in this mode too)."""
    try:
        stripe_adapter = importlib.import_module("fairdeal.adapters.payments.stripe")
    except ImportError as exc:  # the adapter, or the stripe SDK, is not installed
        raise RuntimeError(
            f"FAIRDEAL_PAYMENTS=stripe needs the Stripe adapter and SDK: {exc}"
        ) from exc
    if not settings.stripe_api_key:
        raise RuntimeError("FAIRDEAL_PAYMENTS=stripe needs FAIRDEAL_STRIPE_API_KEY")
    gateway: PaymentGateway = stripe_adapter.StripeGateway(
        settings.stripe_api_key, settings.stripe_api_base
    )
    return gateway


def lockout_policy(settings: Settings) -> LockoutPolicy:
    """The sign-in lockout the settings ask for."""
    return LockoutPolicy(
        after=settings.login_lockout_after,
        base=timedelta(seconds=settings.login_lockout_seconds),
        cap=timedelta(seconds=settings.login_lockout_max_seconds),
    )


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
