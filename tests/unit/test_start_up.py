"""Start-up (issue 16): compiled templates are cached on disk (Jinja's bytecode cache)
without ever failing a page."""

from __future__ import annotations

from pathlib import Path

import jinja2

from fairdeal.entrypoints.web import site


def test_a_page_renders_when_the_template_cache_cannot_be_written(tmp_path: Path) -> None:
    """The compiled templates are kept in a temp folder (start-up speed); a folder cleaned
    away under the running server must not fail a page: the template is compiled instead."""
    cache = site.environment().bytecode_cache
    assert isinstance(cache, site._BestEffortBytecodeCache)
    cache.directory = str(tmp_path / "cleaned-away")  # neither readable nor writable now
    env = jinja2.Environment(
        loader=jinja2.DictLoader({"page.html": "<p>{{ detail }}</p>"}), bytecode_cache=cache
    )
    assert env.get_template("page.html").render(detail="Nothing here.") == "<p>Nothing here.</p>"
