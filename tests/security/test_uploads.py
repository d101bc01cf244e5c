"""Hostile uploads: each is refused with its code and leaves nothing behind (no stored file,
no scratch file, no row in ``files``); names are display text only; images reach the other
party re-encoded, without their EXIF GPS position."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from e2e.support import World, assert_problem, ok, png_bytes
from fairdeal.adapters.db import tables
from security.support import jpeg


def stored(world: World) -> list[Path]:
    """Every file under the storage folder, scratch files included."""
    return [p for p in world.storage_dir.rglob("*") if p.is_file()]


def file_rows(world: World) -> int:
    with world.app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(tables.files)).scalar_one())


def upload(world: World, name: str, content: bytes, declared: str = "image/jpeg") -> Any:
    return world.buyer.post("/files", files={"file": (name, content, declared)})


def refused(world: World, response: Any, status: int, code: str) -> None:
    assert_problem(response, status, code)
    assert stored(world) == [], "a refused upload left a file behind"
    assert file_rows(world) == 0, "a refused upload left a row in files"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (1 bit, grey): the shape of a
    decompression bomb, a few hundred bytes that would decode to gigabytes."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\0" + b"\0" * ((width + 7) // 8)
    body = zlib.compress(row * min(height, 64), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("Exploit.class", b"\xca\xfe\xba\xbe" + b"\0" * 32)
    return buffer.getvalue()


def png_with_text(key: bytes, value: bytes) -> bytes:
    data = png_bytes()
    end = data.rindex(b"IEND") - 4
    return data[:end] + _png_chunk(b"tEXt", key + b"\0" + value) + data[end:]


# --- refused, nothing stored ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "declared"),
    [
        pytest.param("photo.jpg", b"not a photo at all\n" * 8, "image/jpeg", id="text-as-jpeg"),
        pytest.param(
            "photo.jpg", b"\xff\xd8\xff" + b"garbage" * 20, "image/jpeg", id="jpeg-magic-only"
        ),
        pytest.param(
            "photo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 80, "image/png", id="png-magic-only"
        ),
        pytest.param(
            "photo.webp", b"RIFF\0\0\0\0WEBPVP8 " + b"\0" * 60, "image/webp", id="webp-magic-only"
        ),
        pytest.param("photo.gif", b"GIF89a" + b"\0" * 80, "image/gif", id="gif-magic-only"),
        pytest.param("doc.pdf", b"%PDF" + b"\0" * 80, "application/pdf", id="almost-pdf"),
    ],
)
def test_wrong_magic_bytes_are_unsupported(
    world: World, name: str, content: bytes, declared: str
) -> None:
    refused(world, upload(world, name, content, declared), 415, "unsupported_file_type")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("photo.jpg", jpeg() + zip_bytes(), id="gifar-jpeg-with-zip-tail"),
        pytest.param(
            "photo.jpg",
            jpeg() + b"<html><body><script>alert(document.cookie)</script></body></html>",
            id="jpeg-with-html-tail",
        ),
        pytest.param(
            "photo.gif",
            b"GIF89a" + b"<script>alert(1)</script>" + b"\0" * 64,
            id="gif-magic-script",
        ),
        pytest.param(
            "photo.png",
            png_with_text(b"Comment", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj"),
            id="pdf-inside-png",
        ),
        pytest.param(
            "photo.png",
            png_with_text(b"Comment", b"<?php system($_GET['c']); ?>"),
            id="php-inside-png",
        ),
        pytest.param(
            "photo.png",
            png_with_text(b"Comment", b'<svg xmlns="http://www.w3.org/2000/svg" onload="x"/>'),
            id="svg-inside-png",
        ),
        pytest.param(
            "report.pdf",
            b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction 2 0 R >> endobj\n"
            b"2 0 obj << /S /JavaScript /JS (app.alert(1)) >> endobj\n%%EOF\n",
            id="pdf-with-javascript",
        ),
        pytest.param(
            "report.pdf",
            b"%PDF-1.4\n1 0 obj << /Type /Action /S /Launch /F (cmd.exe) >> endobj\n%%EOF\n",
            id="pdf-with-launch-action",
        ),
        pytest.param(
            "clip.mp4",
            b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom" + b"\0" * 64 + zip_bytes(),
            id="mp4-with-zip-tail",
        ),
    ],
)
def test_polyglots_are_unsupported(world: World, name: str, content: bytes) -> None:
    refused(world, upload(world, name, content), 415, "unsupported_file_type")


@pytest.mark.parametrize(
    ("name", "content", "declared"),
    [
        pytest.param("cat.jpg", b"<script>alert(1)</script>", "image/jpeg", id="script-as-jpg"),
        pytest.param(
            "cat.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
            id="svg-with-script",
        ),
        pytest.param(
            "cat.jpg",
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
            "image/jpeg",
            id="svg-named-jpg",
        ),
        pytest.param("page.html", b"<!doctype html><p>hi</p>", "text/html", id="html"),
    ],
)
def test_scripts_disguised_as_images_are_unsupported(
    world: World, name: str, content: bytes, declared: str
) -> None:
    refused(world, upload(world, name, content, declared), 415, "unsupported_file_type")


def test_an_image_over_10_mb_is_too_large(world: World) -> None:
    content = jpeg() + b"\0" * (10 * 1024 * 1024)
    refused(world, upload(world, "big.jpg", content), 413, "file_too_large")


def test_a_video_over_50_mb_is_too_large(world: World) -> None:
    content = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom" + b"\0" * (50 * 1024 * 1024)
    refused(world, upload(world, "big.mp4", content, "video/mp4"), 413, "file_too_large")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(png_claiming(100_000, 100_000), id="png-claiming-10-gigapixels"),
        pytest.param(png_claiming(9_000, 5_000), id="png-of-45-megapixels"),
    ],
)
def test_decompression_bombs_are_unsupported(world: World, content: bytes) -> None:
    assert len(content) < 10_000
    response = upload(world, "bomb.png", content, "image/png")
    refused(world, response, 415, "unsupported_file_type")
    assert "decompression bomb" in response.json()["detail"]


def test_an_animation_too_large_when_decoded_is_unsupported(world: World) -> None:
    frames = [Image.new("P", (1300, 1300), i % 200) for i in range(100)]  # 169 megapixels
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    assert len(buffer.getvalue()) < 10 * 1024 * 1024
    refused(
        world,
        upload(world, "bomb.gif", buffer.getvalue(), "image/gif"),
        415,
        "unsupported_file_type",
    )


# --- names are display text only ---------------------------------------------------------


def raw_upload(world: World, filename: bytes, content: bytes) -> Any:
    """A multipart body written by hand, so that the filename reaches the server exactly as
    given (httpx would escape quotes and line breaks)."""
    boundary = b"fairdealboundary"
    body = (
        b"--" + boundary + b"\r\n"
        b'Content-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n'
        b"Content-Type: image/png\r\n\r\n" + content + b"\r\n--" + boundary + b"--\r\n"
    )
    return world.buyer.post_raw(
        "/files", body, f"multipart/form-data; boundary={boundary.decode()}"
    )


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        pytest.param(b"../../etc/passwd", "passwd", id="parent-path"),
        pytest.param(b"..\\..\\windows\\win.ini", "win.ini", id="windows-path"),
        pytest.param(b"/etc/shadow", "shadow", id="absolute-path"),
        pytest.param(b"a%22%0d%0aX-Injected: 1.png", None, id="encoded-crlf"),
        pytest.param(b'evil";\tX-Injected=1.png', None, id="quote-and-tab"),
        pytest.param("фото котика.png".encode(), "фото котика.png", id="cyrillic"),
        pytest.param("\u202egnp.exe".encode(), "_gnp.exe", id="right-to-left-override"),
        pytest.param(b"..", "upload", id="dots-only"),
        pytest.param(b"x" * 300 + b".png", "x" * 120, id="very-long"),
    ],
)
def test_a_path_in_the_filename_is_never_used_as_a_path(
    world: World, tmp_path: Path, sent: bytes, shown: str | None
) -> None:
    before = set(world.storage_dir.parent.rglob("*"))
    created = ok(raw_upload(world, sent, png_bytes()), 201)
    name = created["filename"]
    if shown is not None:
        assert name == shown
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert all(c.isprintable() and c not in "\"'\r\n\t;" for c in name)
    # Stored under a key of its own, inside the storage folder; nothing appeared elsewhere.
    files = stored(world)
    assert len(files) == 1 and name not in str(files[0])
    assert files[0].resolve().is_relative_to(world.storage_dir.resolve())
    appeared = set(world.storage_dir.parent.rglob("*")) - before
    assert all(
        p.is_relative_to(world.storage_dir) or p.name.startswith("fairdeal.db") for p in appeared
    ), appeared
    # The download names it safely: one header line, the quoted form ASCII, the exact name
    # only percent-encoded.
    download = world.buyer.get(f"/files/{created['id']}")
    assert download.status_code == 200
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    assert "\r" not in disposition and "\n" not in disposition and disposition.isascii()
    assert disposition.count('"') == 2
    assert "x-injected" not in {k.lower() for k in download.headers}


# --- what the other party sees ----------------------------------------------------------


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = {
        1: "N",
        2: (52.0, 31.0, 12.34),  # GPSLatitude
        3: "E",
        4: (13.0, 24.0, 56.78),  # GPSLongitude
    }
    exif[0x8825] = gps  # the GPS IFD
    return exif


def test_exif_gps_is_stripped_before_the_other_party_sees_the_photo(world: World) -> None:
    original = jpeg((320, 240), exif=gps_exif())
    with Image.open(io.BytesIO(original)) as check:  # the test photo really has a position
        assert check.getexif().get_ifd(0x8825)
    created = ok(
        world.buyer.post("/files", files={"file": ("IMG_0001.jpg", original, "image/jpeg")}), 201
    )
    dispute = world.open_dispute(evidence_file_ids=[created["id"]])
    assert dispute["evidence"][0]["file_id"] == created["id"]

    seen = world.seller.get(f"/files/{created['id']}")
    assert seen.status_code == 200
    assert seen.headers["content-type"] == "image/jpeg"
    assert seen.headers["x-content-type-options"] == "nosniff"
    with Image.open(io.BytesIO(seen.content)) as photo:
        exif = photo.getexif()
        assert not exif.get_ifd(0x8825), "the GPS position reached the seller"
        assert 0x8825 not in exif and 0x010F not in exif
        assert photo.size == (320, 240)
    assert b"PhoneMaker" not in seen.content
    assert len(seen.content) == created["size"]


def test_png_text_metadata_is_stripped(world: World) -> None:
    original = png_with_text(b"Location", b"52.5200 N, 13.4050 E")
    created = ok(upload(world, "scan.png", original, "image/png"), 201)
    body = world.buyer.get(f"/files/{created['id']}").content
    assert b"Location" not in body and b"52.5200" not in body
    with Image.open(io.BytesIO(body)) as image:
        assert image.format == "PNG" and not image.text  # type: ignore[attr-defined]
