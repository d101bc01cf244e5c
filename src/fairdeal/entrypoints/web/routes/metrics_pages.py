"""Metrics pages (docs/metrics.md): the admin's view of every seller (charts, the table, the
flagged buyers, the CSV) and the seller's own numbers."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from fastapi.responses import Response

from fairdeal.domain.roles import Role
from fairdeal.entrypoints.web.routes.common import ctx_of, need, render
from fairdeal.entrypoints.web.routes.pipeline import web_router
from fairdeal.i18n import _
from fairdeal.policies import PRESETS, load_preset
from fairdeal.services import metrics, reports, whatif

router = web_router()
TOP = 10
WHATIF_DAYS = 90


@router.get("/admin/metrics")
def admin_metrics(request: Request) -> Response:
    viewer = need(request, Role.ADMIN)
    from fairdeal.entrypoints.web import charts

    ctx = ctx_of(request)
    sellers = metrics.all_sellers(ctx, viewer.actor)
    buyers = metrics.flagged_buyers(ctx, viewer.actor)
    names = reports.names(ctx, {m.user_id for m in [*sellers, *buyers]})
    by_rate = sorted(sellers, key=lambda m: (-m.dispute_rate, m.user_id))[:TOP]
    rate_rows = [
        (names[m.user_id], float(m.dispute_rate), str(m.dispute_rate))
        for m in by_rate
        if m.counts.orders
    ]
    escalation_rows = []
    for m in by_rate:
        if m.counts.disputes:
            share = metrics.rate(m.counts.escalated, m.counts.disputes)
            escalation_rows.append((names[m.user_id], float(share), str(share)))
    # The policy what-if (docs/whatif.md): the last 90 days under the other preset, or ?policy=.
    wanted = request.query_params.get("policy")
    other = wanted if wanted in PRESETS else next(p for p in PRESETS if p != ctx.policy.name)
    since = (ctx.clock.now() - timedelta(days=WHATIF_DAYS)).date()
    report = whatif.what_if(ctx, load_preset(other), since=since).as_json()
    whatif_rows = []
    for result in sorted(set(report["recorded"]["outcomes"]) | set(report["what_if"]["outcomes"])):
        for label, side in ((_("now"), "recorded"), (_("under %(p)s") % {"p": other}, "what_if")):
            n = report[side]["outcomes"].get(result, 0)
            whatif_rows.append((f"{result.replace('_', ' ')} · {label}", n, str(n)))
    return render(
        request,
        "admin_metrics.html",
        whatif=report,
        whatif_rows=whatif_rows,
        presets=PRESETS,
        sellers=sellers,
        buyers=buyers,
        names=names,
        charts=charts,
        rate_rows=rate_rows,
        escalation_rows=escalation_rows,
        limits=ctx.policy.metrics,
    )


@router.get("/admin/metrics/sellers.csv")
def admin_metrics_csv(request: Request) -> Response:
    viewer = need(request, Role.ADMIN)
    return Response(
        metrics.to_csv(metrics.all_sellers(ctx_of(request), viewer.actor)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="sellers.csv"'},
    )


@router.get("/my/metrics")
def my_metrics(request: Request) -> Response:
    """A seller's own numbers (the same as GET /api/v1/metrics/sellers/{own id})."""
    viewer = need(request, Role.SELLER)
    mine = metrics.user_metrics(ctx_of(request), viewer.actor, "seller", viewer.actor.user_id)
    return render(request, "my_metrics.html", m=mine, body=mine.as_json())
