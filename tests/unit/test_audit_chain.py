"""The hash chains' pure parts: canonical form, hashing, the walk that names the first broken
entry, and the timeline chain the dispute builds as it goes."""

from __future__ import annotations

import copy
import json

import pytest

from builders import SELLER, open_dispute, seller_offer
from fairdeal.adapters.db.codec import encode
from fairdeal.domain import audit
from fairdeal.domain.audit import StoredEntry, first_break


def entries_of(contents: list[dict[str, object]], chain: str = "ledger", agg: str = "ord_1"):
    """A well-formed chain over these contents, as stored entries, and its head."""
    previous = audit.genesis(chain, agg)
    stored = []
    for n, content in enumerate(contents, 1):
        previous = audit.entry_hash(previous, content)
        stored.append(StoredEntry(content, previous, n, n))
    return stored, previous


CONTENTS: list[dict[str, object]] = [
    {"seq": n, "amount": str(n * 100), "currency": "EUR", "dispute_id": None} for n in (1, 2, 3)
]


def test_canonical_form_is_sorted_compact_and_leaves_out_nulls_and_the_hash() -> None:
    a = audit.canonical({"b": "2", "a": 1, "none": None, "hash": "x", "text": "é"})
    b = audit.canonical({"text": "é", "a": 1, "b": "2"})
    assert a == b == '{"a":1,"b":"2","text":"é"}'


@pytest.mark.parametrize(
    "content",
    [
        {"summary": 'quotes " and \\ backslash', "n": -12, "z": "", "a": "\n\t\x00 control"},
        {"text": "non-ASCII: é ü 中文 😀 \u2028", "big": 10**30},
        {"flag": True, "n": 1},  # a bool: not an int here, through json
        {"nested": {"b": [1, "x"], "a": None}, "s": "x"},
    ],
)
def test_canonical_form_is_exactly_sorted_compact_json(content: dict[str, object]) -> None:
    expected = json.dumps(
        {k: v for k, v in content.items() if v is not None},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert audit.canonical(content) == expected


def test_the_hash_covers_the_previous_hash_and_the_content() -> None:
    base = audit.entry_hash("0" * 64, {"a": "1"})
    assert len(base) == 64
    assert audit.entry_hash("1" * 64, {"a": "1"}) != base
    assert audit.entry_hash("0" * 64, {"a": "2"}) != base
    assert audit.entry_hash("0" * 64, {"a": "1"}) == base


def test_genesis_binds_the_chain_to_its_kind_and_aggregate() -> None:
    assert audit.ledger_genesis("ord_1") != audit.ledger_genesis("ord_2")
    assert audit.ledger_genesis("ord_1") != audit.timeline_genesis("ord_1")
    stored, head = entries_of(CONTENTS, agg="ord_1")
    assert first_break("ledger", "ord_1", stored, head) == (None, 3)
    broken, _ = first_break("ledger", "ord_2", stored, head)  # moved to another order
    assert broken is not None and broken.entry == "ledger entry id=1"


def test_an_edited_entry_is_named() -> None:
    stored, head = entries_of(CONTENTS)
    edited = copy.deepcopy(CONTENTS)
    edited[1]["amount"] = "999"
    tampered = [
        StoredEntry(c, e.stored_hash, e.seq, e.ref) for e, c in zip(stored, edited, strict=True)
    ]
    broken, checked = first_break("ledger", "ord_1", tampered, head)
    assert broken is not None
    assert (broken.entry, checked) == ("ledger entry id=2", 2)
    assert "edited" in broken.reason


def test_a_deleted_entry_is_named_by_its_position_or_by_the_hash() -> None:
    stored, head = entries_of(CONTENTS)
    broken, _ = first_break("ledger", "ord_1", [stored[0], stored[2]], head)
    assert broken is not None and broken.entry == "ledger entry id=3"
    assert "position 3, expected 2" in broken.reason
    # Without stored positions (the timeline), the hash catches it at the entry that followed
    # the deleted one (now at position 2).
    stored, head = entries_of(CONTENTS, chain="timeline", agg="dsp_1")
    unnumbered = [StoredEntry(e.content, e.stored_hash) for e in stored]
    assert first_break("timeline", "dsp_1", unnumbered, head) == (None, 3)
    broken, _ = first_break("timeline", "dsp_1", [unnumbered[0], unnumbered[2]], head)
    assert broken is not None and broken.entry == "timeline entry #2"


def test_a_lost_tail_is_caught_by_the_head() -> None:
    stored, head = entries_of(CONTENTS)
    broken, checked = first_break("ledger", "ord_1", stored[:2], head)
    assert broken is not None
    assert (broken.entry, checked) == ("after ledger entry id=2", 2)
    broken, _ = first_break("ledger", "ord_1", [], head)
    assert broken is not None and "all deleted" in broken.reason
    broken, _ = first_break("ledger", "ord_1", stored, None)
    assert broken is not None and "no recorded head" in broken.reason
    assert first_break("ledger", "ord_1", [], None) == (None, 0)


def test_swapped_entries_and_a_missing_hash_are_caught() -> None:
    stored, head = entries_of(CONTENTS)
    swapped = [stored[1], stored[0], stored[2]]
    broken, _ = first_break("ledger", "ord_1", swapped, head)
    assert broken is not None and broken.entry == "ledger entry id=2"
    stripped = [stored[0], StoredEntry(stored[1].content, None, 2), stored[2]]
    broken, _ = first_break("ledger", "ord_1", stripped, head)
    assert broken is not None and broken.reason == "has no hash"


def test_a_dispute_chains_its_timeline_over_what_the_document_stores() -> None:
    dispute, _ = open_dispute()
    seller_offer(dispute)
    dispute.post_message(SELLER, body="hello", now=dispute.updated_at)
    assert len(dispute.timeline) >= 3
    document = encode(dispute)
    stored = [StoredEntry(entry, entry[audit.HASH_KEY]) for entry in document["timeline"]]
    # The hash the domain gave each entry is the hash of the entry as the codec stores it.
    for entry, as_stored in zip(dispute.timeline, document["timeline"], strict=True):
        assert entry.stored_content() == {k: v for k, v in as_stored.items() if k != "hash"}
    head = dispute.timeline[-1].hash
    assert first_break("timeline", dispute.id, stored, head) == (None, len(stored))
    # And an edit of the stored entry is caught.
    document["timeline"][1]["summary"] = "nothing happened"
    broken, _ = first_break("timeline", dispute.id, stored, head)
    assert broken is not None and broken.entry == "timeline entry #2"
