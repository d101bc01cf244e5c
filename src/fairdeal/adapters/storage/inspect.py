"""What an uploaded file really is, read from its bytes (never its name), and the cleaned copy
that is stored: images are decoded with Pillow (which refuses decompression bombs) and
re-encoded, which drops metadata such as EXIF GPS positions."""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path

from PIL import Image

from fairdeal.services.files import UnsupportedFileType

# Refuse images that would decode to more than this many pixels (a decompression bomb).
MAX_IMAGE_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

MB = 1024 * 1024
# Largest accepted upload per kind, in bytes (documented in docs/api.md).
SIZE_LIMITS = {"image": 10 * MB, "application/pdf": 10 * MB, "video": 50 * MB}
MAX_UPLOAD = max(SIZE_LIMITS.values())


def sniff(head: bytes) -> str | None:
    """The content type the first bytes announce, or None for anything not accepted."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:64]:
        return "video/webm"
    return None


# Signs of a second format hidden in an upload (a polyglot): markup a browser would run, PHP,
# a Windows executable's stub. Each pattern is long enough that compressed image or video data
# matches it by chance about once in 10^5 uploads of the largest size or less.
_ACTIVE_CONTENT = re.compile(
    rb"<(?:script|html|iframe|object|embed|body)[\s>/]"
    rb"|<\?php\s|<!doctype\s+html|http://www\.w3\.org/2000/svg"
    rb"|This program cannot be run in DOS mode",
    re.IGNORECASE,
)
# A PDF inside an image: PDF readers find "%PDF-" anywhere in the first kilobyte.
_PDF_HEADER = re.compile(rb"%PDF-")
# PDF features that run code or carry files: scripts, launch actions, attachments.
_PDF_ACTIVE = re.compile(rb"/(?:JavaScript|JS|Launch|EmbeddedFiles?|RichMedia)(?![A-Za-z0-9])")
_SCAN_BLOCK = 1024 * 1024
_SCAN_OVERLAP = 64
# An animation decodes every frame: frames x width x height is capped too.
MAX_ANIMATION_PIXELS = 4 * MAX_IMAGE_PIXELS


def refuse_polyglot(path: Path, content_type: str) -> None:
    """Refuse an upload that is also another format (a JPEG with a ZIP or HTML tail, a PDF
    inside an image, a PDF with scripts). Scans the bytes as uploaded, before cleaning."""
    patterns: list[tuple[re.Pattern[bytes], str]] = [(_ACTIVE_CONTENT, "web page or program code")]
    if content_type.startswith("image/"):
        patterns.append((_PDF_HEADER, "a PDF document"))
    if content_type == "application/pdf":
        patterns = [(_PDF_ACTIVE, "scripts, launch actions or attached files")]
    with path.open("rb") as handle:
        tail = b""
        while block := handle.read(_SCAN_BLOCK):
            window = tail + block
            for pattern, what in patterns:
                if pattern.search(window):
                    raise UnsupportedFileType(
                        f"the file also contains {what}; upload a plain"
                        f" {content_type.split('/')[-1].upper()} file"
                    )
            tail = window[-_SCAN_OVERLAP:]
    if zipfile.is_zipfile(path):
        raise UnsupportedFileType(
            "the file also contains a ZIP archive (a polyglot); upload a plain file"
        )


def limit_for(content_type: str) -> int:
    return SIZE_LIMITS.get(content_type, SIZE_LIMITS.get(content_type.split("/")[0], 0))


_PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


def clean_image(path: Path, content_type: str) -> None:
    """Decode and re-encode an image in place, without its metadata. Raises
    UnsupportedFileType when the bytes are not the image they claim to be."""
    expected = _PIL_FORMATS[content_type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as probe:
                if probe.format != expected:
                    raise UnsupportedFileType(f"the file is not a valid {expected} image")
                probe.verify()
            with Image.open(path) as image:
                image.load()
                frames = getattr(image, "n_frames", 1)
                if frames * image.width * image.height > MAX_ANIMATION_PIXELS:
                    raise UnsupportedFileType(
                        "the animation is too large when decoded (decompression bomb)"
                    )
                if frames > 1:
                    # Animated images keep their frames; only the metadata blocks go.
                    image.save(path, format=expected, save_all=True)
                    return
                clean = image.copy()
                clean.info = {}
                options: dict[str, object] = {}
                if expected == "JPEG":
                    options = {"quality": 92}
                if image.mode == "P" and "transparency" in image.info:
                    options["transparency"] = image.info["transparency"]
                clean.save(path, format=expected, **options)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnsupportedFileType(
            "the image is too large when decoded (decompression bomb)"
        ) from None
    except UnsupportedFileType:
        raise
    except Exception:
        raise UnsupportedFileType(f"the file is not a valid {expected} image") from None


class PillowInspector:
    """The ContentInspector port: magic bytes, per-type limits, Pillow for images."""

    max_upload = MAX_UPLOAD

    def sniff(self, head: bytes) -> str | None:
        return sniff(head)

    def limit_for(self, content_type: str) -> int:
        return limit_for(content_type)

    def clean(self, path: Path, content_type: str) -> None:
        refuse_polyglot(path, content_type)
        if content_type.startswith("image/"):
            clean_image(path, content_type)
