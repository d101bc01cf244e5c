"""The metrics' numbers in SQL over the projected columns of ``orders`` and ``disputes``
(``adapters/db/projections.py``): counts and sums grouped by user, never a document opened.
The median is taken in Python over the closed disputes' durations (portable; one short row
each)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Engine,
    bindparam,
    case,
    func,
    literal,
    select,
    union_all,
)

from fairdeal.adapters.db import tables
from fairdeal.adapters.db.engine import begin
from fairdeal.services.metrics import Counts, Side, against


class SqlMetricsStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def counts(
        self,
        side: Side,
        user_ids: list[str] | None,
        since: datetime,
        *,
        breakdown: bool = True,
    ) -> dict[str, Counts]:
        o, d = tables.orders, tables.disputes
        order_user = o.c.seller_id if side == "seller" else o.c.buyer_id
        user = d.c.seller_id if side == "seller" else d.c.buyer_id
        warnings = d.c.seller_warnings if side == "seller" else d.c.buyer_warnings
        lost = case((d.c.result == against(side), 1), else_=0)

        def scoped(stmt: Any, column: Any) -> Any:
            return stmt if user_ids is None else stmt.where(column.in_(user_ids))

        found: dict[str, Counts] = {}

        def of(user_id: str) -> Counts:
            return found.setdefault(user_id, Counts())

        with begin(self.engine, write=False) as conn:
            orders = scoped(select(order_user, func.count()).group_by(order_user), order_user)
            for user_id, n in conn.execute(orders):
                of(user_id).orders = n
            totals = scoped(
                select(
                    user,
                    func.count(),
                    func.count(d.c.escalated_at),
                    func.count(d.c.result),
                    func.coalesce(func.sum(lost), 0),
                    func.coalesce(func.sum(case((d.c.refund_minor > 0, 1), else_=0)), 0),
                    func.coalesce(func.sum(warnings), 0),
                    func.coalesce(func.sum(case((d.c.created_at >= since, 1), else_=0)), 0),
                ).group_by(user),
                user,
            )
            for user_id, n, escalated, closed, ruled, refunded, warned, recent in conn.execute(
                totals
            ):
                c = of(user_id)
                c.disputes, c.escalated, c.closed = n, escalated, closed
                c.ruled_against, c.refunded = int(ruled), int(refunded)
                c.warnings, c.recent_disputes = int(warned), int(recent)
            if not breakdown:
                return found
            reasons = scoped(
                select(user, d.c.reason, func.count(), func.coalesce(func.sum(lost), 0)).group_by(
                    user, d.c.reason
                ),
                user,
            )
            for user_id, reason, n, ruled in conn.execute(reasons):
                of(user_id).by_reason[reason or "unknown"] = [n, int(ruled)]
            durations = scoped(
                select(user, d.c.created_at, d.c.closed_at).where(d.c.closed_at.is_not(None)),
                user,
            )
            for user_id, opened, closed_at in conn.execute(durations):
                of(user_id).resolution_hours.append((closed_at - opened).total_seconds() / 3600)
        return found

    def flag_counts(
        self, buyer_ids: list[str], seller_ids: list[str], since: datetime
    ) -> tuple[dict[str, Counts], dict[str, Counts]]:
        """One statement: the orders and the disputes of both sides, grouped by user, each
        part tagged with its side (the mediator queue's flags, on every view)."""
        found: dict[str, dict[str, Counts]] = {"buyer": {}, "seller": {}}
        with begin(self.engine, write=False) as conn:
            answer = conn.execute(
                _FLAG_COUNTS, {"buyer_ids": buyer_ids, "seller_ids": seller_ids, "since": since}
            )
            for side, user_id, orders, disputes, recent_disputes in answer:
                c = found[side].setdefault(user_id, Counts())
                c.orders += orders
                c.disputes += disputes
                c.recent_disputes += int(recent_disputes)
        return found["buyer"], found["seller"]

    def users_of_role(self, role: str) -> list[str]:
        u = tables.users
        with begin(self.engine, write=False) as conn:
            return list(conn.scalars(select(u.c.id).where(u.c.role == role).order_by(u.c.id)))

    def role_of(self, user_id: str) -> str | None:
        u = tables.users
        with begin(self.engine, write=False) as conn:
            role: str | None = conn.scalar(select(u.c.role).where(u.c.id == user_id))
            return role


def _flag_counts_statement() -> CompoundSelect[Any]:
    """``flag_counts``'s statement, built once: its users and the start of the recent window
    are parameters (building it per call was a twentieth of the queue's CPU)."""
    o, d = tables.orders, tables.disputes
    recent = case((d.c.created_at >= bindparam("since"), 1), else_=0)
    parts = []
    for side in ("buyer", "seller"):
        ids: BindParameter[list[str]] = bindparam(f"{side}_ids", expanding=True)
        order_user = o.c.seller_id if side == "seller" else o.c.buyer_id
        user = d.c.seller_id if side == "seller" else d.c.buyer_id
        parts.append(
            select(literal(side), order_user, func.count(), literal(0), literal(0))
            .where(order_user.in_(ids))
            .group_by(order_user)
        )
        parts.append(
            select(
                literal(side), user, literal(0), func.count(), func.coalesce(func.sum(recent), 0)
            )
            .where(user.in_(ids))
            .group_by(user)
        )
    return union_all(*parts)


_FLAG_COUNTS = _flag_counts_statement()
