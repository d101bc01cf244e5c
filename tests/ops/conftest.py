"""Fixtures of the operations tests: the S3 server (moto, started by the tests)."""

from objectstore import s3_bucket, s3_endpoint  # noqa: F401
