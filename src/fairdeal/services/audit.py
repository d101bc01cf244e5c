"""Verifying the tamper-evident record: walk every dispute's timeline chain and every order's
ledger chain from its genesis, and report the first broken entry of each broken chain."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from fairdeal.domain.audit import Break, Chain
from fairdeal.services.ports import AuditChains


@dataclass
class AuditReport:
    chains: int = 0
    entries: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def first(self) -> Break | None:
        return self.breaks[0] if self.breaks else None


def verify(chains: AuditChains, *, timelines: bool = True, ledgers: bool = True) -> AuditReport:
    """Check every chain. Each broken chain is reported once, at its first broken entry; the
    chains after it are still checked, so one report shows all the damage."""
    report = AuditReport()
    if timelines:
        _walk(chains.timelines(), report)
    if ledgers:
        _walk(chains.ledgers(), report)
    return report


def _walk(chains: Iterable[Chain], report: AuditReport) -> None:
    for chain in chains:
        broken, checked = chain.verify()
        report.chains += 1
        report.entries += checked
        if broken is not None:
            report.breaks.append(broken)
