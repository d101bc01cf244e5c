"""Evidence files in S3-compatible object storage (AWS S3, MinIO, Ceph, R2...), through boto3:
the same FileStorage port as ``local.py``. ``FAIRDEAL_STORAGE_URL=s3://bucket/prefix``;
``FAIRDEAL_S3_ENDPOINT_URL`` for a store other than AWS (path-style addressing then),
``FAIRDEAL_S3_REGION``; the credentials come from boto3's standard chain (AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, a profile, an instance role) -- never from a
Fairdeal setting. Keys are generated, as on disk. An upload is assembled (and inspected)
in a local scratch folder first, then sent in one ``upload_file`` (multipart when large)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

MISSING = {"NoSuchKey", "404", "NotFound"}


def parse_storage_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ("bucket", "some/prefix/")."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
    prefix = parsed.path.strip("/")
    return parsed.netloc, f"{prefix}/" if prefix else ""


class S3FileStorage:
    def __init__(self, client: Any, bucket: str, prefix: str, scratch: str | Path) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix
        self.scratch = Path(scratch)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        scratch: str | Path,
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> S3FileStorage:
        bucket, prefix = parse_storage_url(url)
        config = Config(
            retries={"mode": "standard", "max_attempts": 4},
            connect_timeout=5,
            read_timeout=30,
            s3={"addressing_style": "path"} if endpoint_url else {},
        )
        client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )
        return cls(client, bucket, prefix, scratch)

    def _object(self, key: str) -> str:
        if not key.replace("/", "").replace("_", "").isalnum():
            raise ValueError("bad storage key")
        return self.prefix + key

    def put(self, source: Path) -> str:
        """Send a finished scratch file to the bucket, then remove it; returns its key."""
        key = f"{secrets.token_hex(1)}/{secrets.token_hex(16)}"
        self.client.upload_file(
            str(source),
            self.bucket,
            self._object(key),
            ExtraArgs={"ContentType": "application/octet-stream"},
        )
        Path(source).unlink(missing_ok=True)
        return key

    def open(self, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """The stored bytes in chunks; raises FileNotFoundError now, not mid-stream."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._object(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in MISSING:
                raise FileNotFoundError(key) from None
            raise
        body = answer["Body"]

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(chunk_size)
            finally:
                body.close()

        return chunks()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object(key))

    def scratch_dir(self) -> Path:
        path = self.scratch / "incoming"
        path.mkdir(parents=True, exist_ok=True)
        return path
