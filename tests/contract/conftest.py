"""The ports under contract: the same services context built on the in-memory fakes, on
SQLite and on PostgreSQL (``ports`` is parametrized, as the eventsourcing library runs one
abstract suite against every persistence backend)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from databases import BACKENDS, empty_database
from fairdeal.bootstrap import bootstrap
from fairdeal.bootstrap import file_storage as file_storage_of
from fairdeal.config import Settings
from fairdeal.services.context import Context
from fairdeal.services.ports import FileStorage
from fakes import FakeClock, fake_context
from integration.conftest import worker_id  # noqa: F401  (PostgreSQL's schema fixture needs it)
from objectstore import Bucket, s3_bucket, s3_endpoint  # noqa: F401  (the S3 server's fixtures)


@pytest.fixture(params=["fake", *BACKENDS])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Context]:
    """A services context whose every port is the fake, SQLite's or PostgreSQL's."""
    clock = FakeClock()
    if request.param == "fake":
        yield fake_context(clock=clock, scratch=tmp_path)
        return
    url = empty_database(request, tmp_path)
    app = bootstrap(Settings(database_url=url, storage_dir=str(tmp_path / "files")), clock=clock)
    yield app.ctx
    app.engine.dispose()


@pytest.fixture(params=["fake", "local", "s3"])
def file_storage(request: pytest.FixtureRequest, tmp_path: Path) -> FileStorage:
    """The FileStorage port: the fake, local disk, and S3 (a moto server the tests start)."""
    if request.param == "fake":
        return fake_context(clock=FakeClock(), scratch=tmp_path).file_storage
    if request.param == "local":
        return file_storage_of(Settings(storage_dir=str(tmp_path / "files")))
    bucket: Bucket = request.getfixturevalue("s3_bucket")
    return file_storage_of(Settings(storage_dir=str(tmp_path / "scratch"), **bucket.settings()))
