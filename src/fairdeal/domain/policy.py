"""The policy: deadline lengths, switches that differ between rule sets, and the reason
catalogue. Parsed from a plain mapping (the TOML files in ``fairdeal/policies``); reading the
file is the caller's job, so this module stays free of I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from fairdeal.domain.errors import PolicyError, ReasonNotAllowed, ValidationError


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Lengths of every clock in PRODUCT.md's deadline table, in days (hours where named)."""

    seller_response_days: int
    negotiation_days: int
    # classic: a seller counter-offer gives the buyer this many days to answer; None: no clock.
    buyer_answer_days: int | None
    evidence_request_days: int
    decision_response_days: int
    mediator_review_days: int
    return_ship_days: int
    return_confirm_days: int
    refund_business_days: int
    not_received_wait_days: int
    post_receipt_grace_days: int
    reminder_hours: int


@dataclass(frozen=True, slots=True)
class Mediation:
    manual_escalation: bool
    # classic freezes the parties' solutions once a mediator is involved; standard does not.
    freeze_solutions: bool


@dataclass(frozen=True, slots=True)
class MetricsThresholds:
    """When the metrics flag someone for mediators (``[metrics]``, docs/metrics.md). A buyer is
    a serial disputer with ``serial_disputer_disputes`` disputes opened in the last
    ``serial_disputer_window_days`` days, or a dispute rate of at least
    ``serial_disputer_rate`` over at least ``min_orders`` orders. A seller is far above the
    norm with a dispute rate of at least ``seller_rate_multiple`` times the platform's median
    seller dispute rate (and at least ``seller_rate_floor``) over at least ``min_orders``."""

    serial_disputer_disputes: int = 5
    serial_disputer_window_days: int = 90
    serial_disputer_rate: Decimal = Decimal("0.30")
    min_orders: int = 5
    seller_rate_multiple: Decimal = Decimal("3")
    seller_rate_floor: Decimal = Decimal("0.05")


@dataclass(frozen=True, slots=True)
class Reason:
    """One entry of the reason catalogue with the guidance a buyer sees when choosing it."""

    code: str
    title: str
    guidance: str
    evidence_required: bool = True
    evidence_hint: str = ""
    warning: str | None = None
    # A refused reason stays in the catalogue so that the form can explain why.
    refused: str | None = None
    not_received: bool = False
    requires_tracking_movement: bool = False


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    deadlines: Deadlines
    mediation: Mediation
    reasons: Mapping[str, Reason]
    # category -> reason code -> override; a category may also hide a reason (None).
    categories: Mapping[str, Mapping[str, Reason | None]] = field(default_factory=dict)
    metrics: MetricsThresholds = field(default_factory=MetricsThresholds)

    def catalogue(self, category: str | None = None) -> dict[str, Reason]:
        """The reasons a buyer may pick for an item of this category, in catalogue order."""
        result = dict(self.reasons)
        for code, override in self.categories.get(category or "", {}).items():
            if override is None:
                result.pop(code, None)
            else:
                result[code] = override
        return result

    def reason(self, code: str, category: str | None = None) -> Reason:
        """The reason a buyer chose, or a refusal that says why it cannot be chosen."""
        found = self.catalogue(category).get(code)
        if found is None and code in self.reasons:
            # A reason of the catalogue that this category hides (digital goods have no
            # parcel): known, but not allowed here.
            raise ReasonNotAllowed(
                f"the reason {code!r} is not offered for items of category {category!r}",
                field="reason",
            )
        if found is None:
            known = ", ".join(sorted(self.catalogue(category)))
            raise ValidationError(
                f"unknown reason {code!r}; choose one of: {known}", field="reason"
            )
        if found.refused:
            raise ReasonNotAllowed(found.refused, field="reason")
        return found

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "policy") -> Policy:
        """Build a policy from parsed TOML; any missing or mistyped field raises PolicyError
        naming it (``policy.toml: deadlines.seller_response_days must be an integer``)."""
        reader = _Reader(source)
        name = reader.text(data, "name")
        deadlines_data = reader.table(data, "deadlines")
        deadlines = Deadlines(
            seller_response_days=reader.days(deadlines_data, "deadlines", "seller_response_days"),
            negotiation_days=reader.days(deadlines_data, "deadlines", "negotiation_days"),
            buyer_answer_days=reader.days(
                deadlines_data, "deadlines", "buyer_answer_days", optional=True
            ),
            evidence_request_days=reader.days(deadlines_data, "deadlines", "evidence_request_days"),
            decision_response_days=reader.days(
                deadlines_data, "deadlines", "decision_response_days"
            ),
            mediator_review_days=reader.days(deadlines_data, "deadlines", "mediator_review_days"),
            return_ship_days=reader.days(deadlines_data, "deadlines", "return_ship_days"),
            return_confirm_days=reader.days(deadlines_data, "deadlines", "return_confirm_days"),
            refund_business_days=reader.days(deadlines_data, "deadlines", "refund_business_days"),
            not_received_wait_days=reader.days(
                deadlines_data, "deadlines", "not_received_wait_days"
            ),
            post_receipt_grace_days=reader.days(
                deadlines_data, "deadlines", "post_receipt_grace_days"
            ),
            reminder_hours=reader.days(deadlines_data, "deadlines", "reminder_hours"),
        )
        mediation_data = reader.table(data, "mediation")
        mediation = Mediation(
            manual_escalation=reader.flag(mediation_data, "mediation", "manual_escalation"),
            freeze_solutions=reader.flag(mediation_data, "mediation", "freeze_solutions"),
        )
        reasons_data = reader.table(data, "reasons")
        reasons = {
            code: reader.reason(code, entry, f"reasons.{code}")
            for code, entry in reasons_data.items()
        }
        if not reasons:
            raise PolicyError(f"{source}: reasons must list at least one reason")
        categories: dict[str, dict[str, Reason | None]] = {}
        for category, overrides in reader.table(data, "categories", optional=True).items():
            where = f"categories.{category}"
            if not isinstance(overrides, Mapping):
                raise PolicyError(f"{source}: {where} must be a table")
            categories[category] = {}
            for code, entry in overrides.items():
                if not isinstance(entry, Mapping):
                    raise PolicyError(f"{source}: {where}.{code} must be a table")
                if entry == {"hidden": True}:
                    categories[category][code] = None
                    continue
                base = reasons.get(code)
                merged = {**_reason_fields(base), **entry} if base else dict(entry)
                categories[category][code] = reader.reason(code, merged, f"{where}.{code}")
        metrics_data = reader.table(data, "metrics", optional=True)
        chosen: dict[str, Any] = {}
        for key in ("serial_disputer_disputes", "serial_disputer_window_days", "min_orders"):
            chosen[key] = reader.days(metrics_data, "metrics", key, optional=True)
        for key in ("serial_disputer_rate", "seller_rate_multiple", "seller_rate_floor"):
            chosen[key] = reader.ratio(metrics_data, "metrics", key)
        metrics = MetricsThresholds(**{k: v for k, v in chosen.items() if v is not None})
        return cls(name, deadlines, mediation, reasons, categories, metrics)


def _reason_fields(reason: Reason) -> dict[str, Any]:
    return {
        "title": reason.title,
        "guidance": reason.guidance,
        "evidence_required": reason.evidence_required,
        "evidence_hint": reason.evidence_hint,
        "warning": reason.warning,
        "refused": reason.refused,
        "not_received": reason.not_received,
        "requires_tracking_movement": reason.requires_tracking_movement,
    }


class _Reader:
    """Typed access to a parsed file that names the offending field on every failure."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> PolicyError:
        return PolicyError(f"{self.source}: {where} {problem}")

    def table(
        self, data: Mapping[str, Any], key: str, *, optional: bool = False
    ) -> Mapping[str, Any]:
        value = data.get(key)
        if value is None and optional:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(key, "is missing or is not a table")
        return value

    def text(self, data: Mapping[str, Any], key: str, where: str | None = None) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where or key, "must be a non-empty string")
        return value

    def days(self, data: Mapping[str, Any], table: str, key: str, *, optional: bool = False) -> Any:
        value = data.get(key)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(f"{table}.{key}", "must be a positive integer")
        return value

    def ratio(self, data: Mapping[str, Any], table: str, key: str) -> Decimal | None:
        """An optional non-negative decimal written as a string ("0.30"): no floats."""
        value = data.get(key)
        if value is None:
            return None
        try:
            number = Decimal(value) if isinstance(value, str) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number < 0:
            raise self.fail(f"{table}.{key}", 'must be a non-negative decimal string ("0.30")')
        return number

    def flag(self, data: Mapping[str, Any], table: str, key: str) -> bool:
        value = data.get(key)
        if not isinstance(value, bool):
            raise self.fail(f"{table}.{key}", "must be true or false")
        return value

    def reason(self, code: str, entry: Any, where: str) -> Reason:
        if not isinstance(entry, Mapping):
            raise self.fail(where, "must be a table")
        known = set(_REASON_KEYS)
        unknown = set(entry) - known
        if unknown:
            raise self.fail(f"{where}.{sorted(unknown)[0]}", "is not a known reason field")
        optional_text = {}
        for key in ("warning", "refused"):
            value = entry.get(key)
            if value is not None and not isinstance(value, str):
                raise self.fail(f"{where}.{key}", "must be a string")
            optional_text[key] = value
        flags = {}
        for key, default in (
            ("evidence_required", True),
            ("not_received", False),
            ("requires_tracking_movement", False),
        ):
            value = entry.get(key, default)
            if not isinstance(value, bool):
                raise self.fail(f"{where}.{key}", "must be true or false")
            flags[key] = value
        hint = entry.get("evidence_hint", "")
        if not isinstance(hint, str):
            raise self.fail(f"{where}.evidence_hint", "must be a string")
        return Reason(
            code=code,
            title=self.text(entry, "title", f"{where}.title"),
            guidance=self.text(entry, "guidance", f"{where}.guidance"),
            evidence_hint=hint,
            warning=optional_text["warning"],
            refused=optional_text["refused"],
            **flags,
        )


_REASON_KEYS = (
    "title",
    "guidance",
    "evidence_required",
    "evidence_hint",
    "warning",
    "refused",
    "not_received",
    "requires_tracking_movement",
)
