"""Hostile JSON against a real `fairdeal serve` process (on SQLite and PostgreSQL): a 10 MB
object with ~900,000 unknown members, sent with its length and streamed without one, and a
wide object just under the size bound, are each refused fast with a small problem body, while
a probe keeps asking /healthz and is answered throughout."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ops.support import clean_env, processes

TOKEN = "fd_hostile_json_platform_token_0123456789"


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[str]:
    env = clean_env(
        FAIRDEAL_DATABASE_URL=db_url,
        FAIRDEAL_SANDBOX="true",
        FAIRDEAL_PLATFORM_TOKEN=TOKEN,
        FAIRDEAL_STORAGE_DIR=str(tmp_path / "files"),
        FAIRDEAL_RATE_LIMIT_WRITES_PER_MINUTE="0",
    )
    with processes(tmp_path) as group:
        base = group.serve("serve", env)
        yield base
        served = group.procs[0]
        assert served.popen.poll() is None, served.output()[-3000:]


def _object(members: int) -> bytes:
    return b'{"body": "hi", ' + b", ".join(b'"k%07d": 1' % i for i in range(members)) + b"}"


# Asks /healthz every 20 ms and prints each answer's status and seconds, until terminated.
PROBE = """
import sys, time, httpx
with httpx.Client(timeout=10) as client:
    while True:
        started = time.monotonic()
        status = client.get(sys.argv[1]).status_code
        print(status, time.monotonic() - started, flush=True)
        time.sleep(0.02)
"""


def test_hostile_bodies_are_refused_fast_and_the_process_keeps_answering(server: str) -> None:
    huge = _object(883_072)
    assert len(huge) > 10_000_000
    wide = _object(65_000)
    assert 900_000 < len(wide) < 1024 * 1024
    path = f"{server}/api/v1/disputes/dsp_unknown/messages"
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    # The probe is a process of its own: a thread here would share this process's GIL with
    # the main thread slicing and sending 10 MB bodies, and be starved of turns (4 probes in
    # a whole run) however fast the server answered.
    prober = subprocess.Popen(
        [sys.executable, "-c", PROBE, f"{server}/healthz"], stdout=subprocess.PIPE, text=True
    )
    assert prober.stdout is not None
    assert prober.stdout.readline().startswith("200 "), "the probe's first /healthz failed"
    answers = []
    hostile_started = time.monotonic()
    try:
        with httpx.Client(timeout=30) as client:
            for _ in range(3):
                for label, send in (
                    ("with length", lambda: client.post(path, content=huge, headers=headers)),
                    (
                        "streamed",
                        lambda: client.post(
                            path,
                            content=(huge[i : i + 65536] for i in range(0, len(huge), 65536)),
                            headers=headers,
                        ),
                    ),
                    ("wide", lambda: client.post(path, content=wide, headers=headers)),
                ):
                    started = time.monotonic()
                    response = send()
                    answers.append((label, response, time.monotonic() - started))
        hostile_seconds = time.monotonic() - hostile_started
        # One answer more, asked after the last hostile body: the process still answers.
        after = prober.stdout.readline()
    finally:
        prober.terminate()
        rest = prober.communicate(timeout=15)[0]
    probes = [line.split() for line in (after + rest).splitlines()]
    for label, response, seconds in answers:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert len(response.content) < 1000, (label, len(response.content))
        expected = (422, "validation_error") if label == "wide" else (413, "file_too_large")
        assert (response.status_code, response.json()["code"]) == expected, response.text
        assert seconds < 3.0, (label, seconds)
    assert [status for status, _ in probes] == ["200"] * len(probes)
    probe_times = [float(seconds) for _, seconds in probes]
    # A probe every ~20-30 ms when the server keeps up: at least one per half second of
    # hostile traffic, and the one after it.
    assert len(probe_times) >= 1 + int(hostile_seconds / 0.5), (len(probe_times), hostile_seconds)
    assert max(probe_times) < 1.0, sorted(probe_times)[-5:]
