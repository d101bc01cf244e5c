"""tests/leaks.py: a psycopg connection lost while open is reported with where it was opened."""

from __future__ import annotations

import gc
import os

import psycopg
import pytest
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("FAIRDEAL_TEST_PG_URL")


@pytest.mark.skipif(not PG_URL, reason="needs FAIRDEAL_TEST_PG_URL")
def test_a_connection_lost_while_open_is_reported_with_where_it_was_opened() -> None:
    libpq = make_url(str(PG_URL)).set(drivername="postgresql").render_as_string(False)
    lost = psycopg.connect(libpq)
    with pytest.warns(ResourceWarning) as caught:
        del lost
        gc.collect()
    said = "\n".join(str(w.message) for w in caught)
    assert "was deleted while still open" in said
    assert "It was opened at:" in said and "test_leak_report.py" in said, said
