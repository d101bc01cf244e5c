"""The web pages' catalogues (src/fairdeal/locale): every string the pages and the policy
presets can show is in the template, translated in Russian and Chinese, not fuzzy, with the
same placeholders, and the compiled .mo files say the same as the .po files."""

from __future__ import annotations

import gettext
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "src" / "fairdeal" / "locale"
LANGUAGES = ["ru", "zh_Hans"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def catalogue(language: str) -> Catalog:
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=language)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The strings in the code now, extracted as `make messages` does."""
    out = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_",
            "-k",
            "ngettext:1,2",
            "-k",
            "pgettext:1c,2",
            "--no-location",
            "--omit-header",
            "-o",
            str(out),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with out.open("rb") as fh:
        return read_po(fh)


def keys(cat: Catalog) -> set[tuple[str, str | None]]:
    return {(m.id[0] if isinstance(m.id, tuple) else m.id, m.context) for m in cat if m.id}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_of_the_pages_is_translated(language: str, extracted: Catalog) -> None:
    cat = catalogue(language)
    missing = keys(extracted) - keys(cat)
    assert not missing, (
        f"not in {language}'s catalogue (run `make messages`): {sorted(missing)[:5]}"
    )
    problems = []
    for m in cat:
        if not m.id:
            continue
        if "fuzzy" in m.flags:
            problems.append(("fuzzy", m.id))
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if not all(strings):
            problems.append(("untranslated", m.id))
            continue
        source = m.id if isinstance(m.id, tuple) else (m.id,)
        wanted = set(PLACEHOLDER.findall(" ".join(source))) - {"num", "n"}
        for s in strings:
            if wanted - set(PLACEHOLDER.findall(s)):
                problems.append(("placeholders", m.id))
    assert problems == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_matches_the_po_file(language: str) -> None:
    compiled = gettext.translation("messages", LOCALES, languages=[language])
    for m in catalogue(language):
        if m.id and not isinstance(m.id, tuple):
            found = compiled.pgettext(m.context, m.id) if m.context else compiled.gettext(m.id)
            assert found == m.string, f"{language}: recompile the .mo (make messages): {m.id!r}"


def test_every_reason_text_of_both_presets_is_in_the_catalogue(extracted: Catalog) -> None:
    import tomllib

    from fairdeal.i18n_extract import policy_texts

    wanted = set()
    for preset in ("standard", "classic"):
        data = tomllib.loads((ROOT / "src/fairdeal/policies" / f"{preset}.toml").read_text())
        wanted |= {(text, f"reason:{code}:{name}") for code, name, text in policy_texts(data)}
    assert wanted and wanted <= keys(catalogue("ru")) and wanted <= keys(catalogue("zh_Hans"))
