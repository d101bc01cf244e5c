"""Evidence files in a local folder. Keys are generated, never taken from the uploaded
filename, so an upload cannot name a path. ``s3.py`` implements the same port on
S3-compatible object storage."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path


class LocalFileStorage:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not key.replace("/", "").replace("_", "").isalnum():
            raise ValueError("bad storage key")
        return self.root / key

    def put(self, source: Path) -> str:
        """Move a finished temporary file into the store; returns its key."""
        key = f"{secrets.token_hex(1)}/{secrets.token_hex(16)}"
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        return key

    def open(self, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """The stored bytes in chunks; raises FileNotFoundError now, not mid-stream."""
        handle = self._path(key).open("rb")

        def chunks() -> Iterator[bytes]:
            with handle:
                while chunk := handle.read(chunk_size):
                    yield chunk

        return chunks()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def scratch_dir(self) -> Path:
        path = self.root / "incoming"
        path.mkdir(parents=True, exist_ok=True)
        return path
