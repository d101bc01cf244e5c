"""The labelled set of scam and innocent messages, its fixed dev/held-out split, and the
precision, recall and innocent-flagged share of ``scan_message`` on it.

Files: ``data/{en,ru,zh}.tsv``, one message a line: ``label<TAB>voice<TAB>message``, where
label is a short name of the warning the message must raise (``pay``, ``close``, ``fb``,
``token``, ``reason``, ``return``) or ``-`` for an innocent message, and voice is who wrote
it (``seller`` or ``buyer``). The messages were written by hand before the rules, to vary in
register, length, spelling and voice; they are not copied from the patterns.

The split is by a hash of the message text, so it never changes when lines are added or
moved: about 70% of each language is ``dev`` (the rules may be tuned on it), the rest is
``held-out`` (never looked at while tuning). ``python tests/unit/scams/scam_eval.py`` prints
the table in Markdown, for docs/scams.md."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from fairdeal.domain import scams

DATA = Path(__file__).parent / "data"
LANGUAGES = ("en", "ru", "zh")
LABELS = {
    "pay": scams.PAY_OUTSIDE_PLATFORM,
    "close": scams.CLOSE_FOR_PROMISE,
    "fb": scams.FEEDBACK_PRESSURE,
    "token": scams.TOKEN_PRICE_REORDER,
    "reason": scams.CHANGE_REASON_NOT_NEEDED,
    "return": scams.RETURN_OUTSIDE_SOLUTION,
}
CODES = tuple(LABELS.values())
SPLITS = ("dev", "held-out")


@dataclass(frozen=True, slots=True)
class Example:
    language: str
    codes: frozenset[str]
    voice: str
    text: str

    @property
    def split(self) -> str:
        # 179/256 is 70%: the first byte of the text's SHA-256 decides, once and for all.
        return "dev" if hashlib.sha256(self.text.encode()).digest()[0] < 179 else "held-out"


def load(language: str) -> list[Example]:
    examples = []
    for line in (DATA / f"{language}.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, voice, text = line.split("\t")
        codes = frozenset() if label == "-" else frozenset(LABELS[x] for x in label.split(","))
        examples.append(Example(language, codes, voice, text))
    return examples


@dataclass(frozen=True, slots=True)
class Score:
    """Counts over message-code pairs: a message labelled with a code and flagged with it is a
    true positive, flagged with a code it is not labelled with a false positive."""

    positives: int  # messages labelled with the code(s)
    true_pos: int
    false_pos: int
    innocent: int  # innocent messages (only meaningful for the whole language)
    innocent_flagged: int

    @property
    def precision(self) -> float:
        flagged = self.true_pos + self.false_pos
        return 1.0 if flagged == 0 else self.true_pos / flagged

    @property
    def recall(self) -> float:
        return 1.0 if self.positives == 0 else self.true_pos / self.positives

    @property
    def innocent_share(self) -> float:
        return 0.0 if self.innocent == 0 else self.innocent_flagged / self.innocent


_SCANNED: dict[tuple[Callable[[str], list[str]], str], frozenset[str]] = {}


def _scan(scan: Callable[[str], list[str]], text: str) -> frozenset[str]:
    key = (scan, text)
    if key not in _SCANNED:
        _SCANNED[key] = frozenset(scan(text))
    return _SCANNED[key]


def score(
    examples: Iterable[Example],
    codes: Iterable[str] = CODES,
    scan: Callable[[str], list[str]] = scams.scan_message,
) -> Score:
    wanted = set(codes)
    positives = true_pos = false_pos = innocent = innocent_flagged = 0
    for example in examples:
        found = _scan(scan, example.text)
        labelled = example.codes & wanted
        positives += len(labelled)
        true_pos += len(found & labelled)
        false_pos += len((found & wanted) - labelled)
        if not example.codes:
            innocent += 1
            innocent_flagged += bool(found)
    return Score(positives, true_pos, false_pos, innocent, innocent_flagged)


def table(scan: Callable[[str], list[str]] = scams.scan_message) -> str:
    """Markdown: one row per language and split for all codes, then one per code."""
    rows = [
        "| language | split | code | messages | precision | recall | innocent flagged |",
        "|---|---|---|---|---|---|---|",
    ]
    for language in LANGUAGES:
        examples = load(language)
        for split in SPLITS:
            part = [e for e in examples if e.split == split]
            s = score(part, scan=scan)
            rows.append(
                f"| {language} | {split} | all | {len(part)} ({s.innocent} innocent) | "
                f"{s.precision:.3f} | {s.recall:.3f} | "
                f"{s.innocent_share:.1%} ({s.innocent_flagged}/{s.innocent}) |"
            )
            for code in CODES:
                c = score(part, [code], scan=scan)
                rows.append(
                    f"| {language} | {split} | {code} | {c.positives} | "
                    f"{c.precision:.3f} ({c.true_pos}/{c.true_pos + c.false_pos}) | "
                    f"{c.recall:.3f} ({c.true_pos}/{c.positives}) | |"
                )
    return "\n".join(rows)


def mistakes(split: str = "dev") -> list[str]:
    """Every wrong answer on one split, for tuning (``dev``) only."""
    out = []
    for language in LANGUAGES:
        for e in load(language):
            if e.split != split:
                continue
            found = set(scams.scan_message(e.text))
            if found != set(e.codes):
                out.append(f"{language} want={sorted(e.codes)} got={sorted(found)}: {e.text}")
    return out


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--mistakes"]:
        print("\n".join(mistakes()))
    else:
        print(table())
