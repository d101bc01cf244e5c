"""The shipped policy presets (fairdeal/policies/*.toml) and how broken files are reported."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from typing import Any

import pytest

from fairdeal.domain.errors import PolicyError, ReasonNotAllowed, ValidationError
from fairdeal.domain.policy import Deadlines, Mediation, Policy

PRESETS = ("standard", "classic")

# API.md: every reason a dispute may carry, plus the one that is refused.
API_REASONS = (
    "not_received",
    "protection_expiring_in_transit",
    "wrong_address",
    "damaged",
    "not_as_described",
    "poor_quality",
    "counterfeit",
    "not_working",
    "wrong_item",
    "missing_parts",
    "quantity_short",
    "customs_problem",
    "not_needed",
)
CATALOGUE_ORDER = (*API_REASONS, "no_tracking_info")
NOT_RECEIVED_REASONS = {"not_received", "protection_expiring_in_transit", "wrong_address"}


def preset_text(name: str) -> str:
    return resources.files("fairdeal.policies").joinpath(f"{name}.toml").read_text("utf-8")


def preset_data(name: str) -> dict[str, Any]:
    return tomllib.loads(preset_text(name))


def load(name: str) -> Policy:
    return Policy.from_mapping(preset_data(name), source=f"{name}.toml")


@pytest.fixture(scope="module")
def standard() -> Policy:
    return load("standard")


@pytest.fixture(scope="module")
def classic() -> Policy:
    return load("classic")


# --- the presets load with PRODUCT.md's numbers ---------------------------------------------


@pytest.mark.parametrize("name", PRESETS)
def test_preset_loads_under_its_own_name(name: str) -> None:
    assert load(name).name == name


def test_standard_deadlines(standard: Policy) -> None:
    assert standard.deadlines == Deadlines(
        seller_response_days=7,
        negotiation_days=7,
        buyer_answer_days=None,
        evidence_request_days=3,
        decision_response_days=3,
        mediator_review_days=7,
        return_ship_days=10,
        return_confirm_days=15,
        refund_business_days=10,
        not_received_wait_days=10,
        post_receipt_grace_days=15,
        reminder_hours=24,
    )
    assert "buyer_answer_days" not in preset_data("standard")["deadlines"]


def test_classic_deadlines(classic: Policy) -> None:
    assert classic.deadlines == Deadlines(
        seller_response_days=5,
        negotiation_days=15,
        buyer_answer_days=5,
        evidence_request_days=3,
        decision_response_days=3,
        mediator_review_days=7,
        return_ship_days=10,
        return_confirm_days=15,
        refund_business_days=10,
        not_received_wait_days=10,
        post_receipt_grace_days=15,
        reminder_hours=24,
    )


def test_mediation_switches(standard: Policy, classic: Policy) -> None:
    assert standard.mediation == Mediation(manual_escalation=False, freeze_solutions=False)
    assert classic.mediation == Mediation(manual_escalation=True, freeze_solutions=True)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_file_starts_with_a_comment(name: str) -> None:
    assert preset_text(name).startswith("# Fairdeal policy preset")


# --- the reason catalogue --------------------------------------------------------------------


@pytest.mark.parametrize("name", PRESETS)
def test_catalogue_lists_the_api_reasons_in_order(name: str) -> None:
    assert tuple(load(name).reasons) == CATALOGUE_ORDER


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.parametrize("code", API_REASONS)
def test_every_api_reason_can_be_chosen(name: str, code: str) -> None:
    reason = load(name).reason(code)
    assert reason.code == code
    assert reason.title.strip()
    assert reason.guidance.strip()
    assert reason.evidence_hint.strip()
    assert reason.refused is None


def test_both_presets_share_one_catalogue(standard: Policy, classic: Policy) -> None:
    assert dict(standard.reasons) == dict(classic.reasons)
    assert standard.categories == classic.categories


@pytest.mark.parametrize("name", PRESETS)
def test_evidence_and_not_received_flags(name: str) -> None:
    reasons = load(name).reasons
    for code, reason in reasons.items():
        assert reason.evidence_required is (code not in NOT_RECEIVED_REASONS), code
        assert reason.not_received is (code in NOT_RECEIVED_REASONS), code
        assert reason.requires_tracking_movement is (code == "protection_expiring_in_transit")


@pytest.mark.parametrize("name", PRESETS)
def test_warnings_and_refusals(name: str) -> None:
    reasons = load(name).reasons
    assert {code for code, r in reasons.items() if r.warning} == {"customs_problem", "not_needed"}
    assert {code for code, r in reasons.items() if r.refused} == {"no_tracking_info"}
    customs = reasons["customs_problem"].warning or ""
    assert "seller" in customs and "customs" in customs
    not_needed = reasons["not_needed"].warning or ""
    assert "lost" in not_needed and "ship" in not_needed


def test_guidance_carries_the_seed_advice(standard: Policy) -> None:
    damaged = standard.reason("damaged")
    assert "package" in damaged.evidence_hint and "damage" in damaged.evidence_hint
    not_working = standard.reason("not_working")
    assert "video" in not_working.evidence_hint and "switched on" in not_working.evidence_hint
    assert "damage in transit" in not_working.guidance


@pytest.mark.parametrize("name", PRESETS)
def test_no_tracking_info_is_refused_with_an_explanation(name: str) -> None:
    with pytest.raises(ReasonNotAllowed) as caught:
        load(name).reason("no_tracking_info")
    assert caught.value.code == "reason_not_allowed"
    assert caught.value.field == "reason"
    assert "Item not received" in caught.value.detail


def test_unknown_reason_is_a_validation_error(standard: Policy) -> None:
    with pytest.raises(ValidationError) as caught:
        standard.reason("bored_of_it")
    assert caught.value.code == "validation_error"
    assert caught.value.field == "reason"
    assert "not_received" in caught.value.detail


# --- categories ------------------------------------------------------------------------------


def test_electronics_overrides_not_working_guidance(standard: Policy) -> None:
    base = standard.reason("not_working")
    electronics = standard.reason("not_working", "electronics")
    assert electronics.guidance != base.guidance
    assert electronics.evidence_hint != base.evidence_hint
    assert "serial number" in electronics.evidence_hint
    # fields the override does not name come from the base reason
    assert electronics.title == base.title
    assert electronics.evidence_required is True
    # other reasons in the category are untouched
    assert standard.reason("damaged", "electronics") == standard.reason("damaged")


def test_clothing_overrides_only_the_evidence_hint(standard: Policy) -> None:
    base = standard.reason("not_as_described")
    clothing = standard.reason("not_as_described", "clothing")
    assert clothing.evidence_hint != base.evidence_hint
    assert (clothing.title, clothing.guidance) == (base.title, base.guidance)


def test_digital_hides_the_shipping_reasons(standard: Policy) -> None:
    catalogue = standard.catalogue("digital")
    for code in ("not_received", "protection_expiring_in_transit", "wrong_address", "damaged"):
        assert code not in catalogue
        with pytest.raises(ReasonNotAllowed):
            standard.reason(code, "digital")
    assert standard.reason("not_working", "digital").title == "Code or download does not work"
    # the refused reason stays in every catalogue so the form can explain the refusal
    with pytest.raises(ReasonNotAllowed):
        standard.reason("no_tracking_info", "digital")


def test_hiding_and_overriding_do_not_leak_into_other_categories(standard: Policy) -> None:
    assert tuple(standard.catalogue()) == CATALOGUE_ORDER
    assert tuple(standard.catalogue("furniture")) == CATALOGUE_ORDER
    assert standard.reason("not_received", "electronics").not_received is True


# --- broken files name the field -------------------------------------------------------------


def broken(mutate: Any) -> dict[str, Any]:
    data = copy.deepcopy(preset_data("standard"))
    mutate(data)
    return data


def test_missing_deadline_is_named() -> None:
    data = broken(lambda d: d["deadlines"].pop("seller_response_days"))
    with pytest.raises(PolicyError, match=r"deadlines\.seller_response_days"):
        Policy.from_mapping(data)


def test_string_where_an_integer_belongs_is_named() -> None:
    text = preset_text("standard").replace("negotiation_days = 7", 'negotiation_days = "7"')
    with pytest.raises(
        PolicyError, match=r"^standard\.toml: deadlines\.negotiation_days must be a positive"
    ):
        Policy.from_mapping(tomllib.loads(text), source="standard.toml")


@pytest.mark.parametrize("value", [0, -3, True, 7.5])
def test_days_must_be_a_positive_integer(value: object) -> None:
    data = broken(lambda d: d["deadlines"].update(return_ship_days=value))
    with pytest.raises(PolicyError, match=r"deadlines\.return_ship_days"):
        Policy.from_mapping(data)


def test_optional_buyer_answer_days_is_still_checked_when_present() -> None:
    data = broken(lambda d: d["deadlines"].update(buyer_answer_days="five"))
    with pytest.raises(PolicyError, match=r"deadlines\.buyer_answer_days"):
        Policy.from_mapping(data)


def test_mediation_switch_must_be_a_boolean() -> None:
    data = broken(lambda d: d["mediation"].update(freeze_solutions="yes"))
    with pytest.raises(PolicyError, match=r"mediation\.freeze_solutions must be true or false"):
        Policy.from_mapping(data)


def test_missing_table_is_named() -> None:
    data = broken(lambda d: d.pop("mediation"))
    with pytest.raises(PolicyError, match=r"mediation is missing"):
        Policy.from_mapping(data)


def test_unknown_reason_field_is_named() -> None:
    data = broken(lambda d: d["reasons"]["damaged"].update(colour="red"))
    with pytest.raises(PolicyError, match=r"reasons\.damaged\.colour is not a known reason field"):
        Policy.from_mapping(data)


def test_reason_without_guidance_is_named() -> None:
    data = broken(lambda d: d["reasons"]["counterfeit"].pop("guidance"))
    with pytest.raises(PolicyError, match=r"reasons\.counterfeit\.guidance"):
        Policy.from_mapping(data)


def test_reason_flag_must_be_a_boolean() -> None:
    data = broken(lambda d: d["reasons"]["not_received"].update(evidence_required="no"))
    with pytest.raises(PolicyError, match=r"reasons\.not_received\.evidence_required"):
        Policy.from_mapping(data)


def test_unknown_field_in_a_category_override_is_named() -> None:
    data = broken(lambda d: d["categories"]["electronics"]["not_working"].update(hint="x"))
    with pytest.raises(
        PolicyError, match=r"categories\.electronics\.not_working\.hint is not a known"
    ):
        Policy.from_mapping(data)


def test_hidden_false_is_not_a_way_to_show_a_reason() -> None:
    data = broken(lambda d: d["categories"]["digital"].update(not_received={"hidden": False}))
    with pytest.raises(PolicyError, match=r"categories\.digital\.not_received\.hidden"):
        Policy.from_mapping(data)


def test_empty_catalogue_is_refused() -> None:
    data = broken(lambda d: d.update(reasons={}, categories={}))
    with pytest.raises(PolicyError, match=r"reasons must list at least one reason"):
        Policy.from_mapping(data)
