"""Named domain errors. Each carries the API error code it maps to, so the entrypoints never
have to guess: a guard that refuses something raises one of these, and nothing else."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a rule refused an action. ``code`` is the stable API error code."""

    code = "validation_error"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class ValidationError(DomainError):
    code = "validation_error"


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    """A party acting outside its role (a seller cancelling, a buyer finalizing)."""

    code = "forbidden"


class InvalidTransition(DomainError):
    """The action exists but is not allowed in the dispute's current status."""

    code = "invalid_transition"


class NotEligible(DomainError):
    """The order or item cannot be disputed now; the detail says why."""

    code = "not_eligible"


class DisputeExists(DomainError):
    code = "dispute_exists"


class AmountOutOfRange(DomainError):
    code = "amount_out_of_range"


class EvidenceRequired(DomainError):
    code = "evidence_required"


class ReasonNotAllowed(DomainError):
    code = "reason_not_allowed"


class CurrencyMismatch(ValidationError):
    """Money of two currencies met in one calculation."""


class VersionConflict(DomainError):
    """Someone else changed the aggregate since it was read."""

    code = "version_conflict"


class PolicyError(ValueError):
    """A policy file is broken; the message names the field."""
