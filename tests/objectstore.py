"""An S3-compatible server the tests start: moto in server mode (``ThreadedMotoServer``, a
real HTTP server speaking the S3 protocol) on a free loopback port, once per test process;
each test gets a bucket of its own and the AWS credential variables boto3 reads."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "fairdeal-test-key",
    "AWS_SECRET_ACCESS_KEY": "fairdeal-test-secret",
    "AWS_DEFAULT_REGION": "eu-central-1",
}


@dataclass(frozen=True)
class Bucket:
    endpoint: str
    name: str
    prefix: str

    @property
    def url(self) -> str:
        return f"s3://{self.name}/{self.prefix}"

    def settings(self) -> dict[str, Any]:
        """Settings that put a Fairdeal app's evidence files in this bucket."""
        return {
            "storage_url": self.url,
            "s3_endpoint_url": self.endpoint,
            "s3_region": CREDENTIALS["AWS_DEFAULT_REGION"],
        }

    def env(self) -> dict[str, str]:
        """The same for a ``fairdeal`` subprocess."""
        return {
            "FAIRDEAL_STORAGE_URL": self.url,
            "FAIRDEAL_S3_ENDPOINT_URL": self.endpoint,
            "FAIRDEAL_S3_REGION": CREDENTIALS["AWS_DEFAULT_REGION"],
            **CREDENTIALS,
        }

    def client(self) -> Any:
        return boto3.session.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        ).client("s3", endpoint_url=self.endpoint)

    def keys(self) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=self.name)
        return [item["Key"] for item in listed.get("Contents", [])]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    bucket = Bucket(s3_endpoint, f"fd-{uuid.uuid4().hex[:12]}", "evidence")
    bucket.client().create_bucket(
        Bucket=bucket.name,
        CreateBucketConfiguration={"LocationConstraint": CREDENTIALS["AWS_DEFAULT_REGION"]},
    )
    return bucket
