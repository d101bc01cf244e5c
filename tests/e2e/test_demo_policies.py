"""`fairdeal demo` starts on either policy preset and on a policy file (FAIRDEAL_POLICY), and
its seeded dispute reaches mediation the way that policy gets there: by the clock (standard),
by the buyer's Escalate button (classic), or through a buyer answer clock (a file)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from e2e.test_demo_server import free_port, wait_until_ready

PRESETS = Path(__file__).resolve().parents[2] / "src" / "fairdeal" / "policies"


def _policy_file(folder: Path) -> Path:
    """A policy of the operator's own: the standard rules with a buyer answer clock and other
    lengths."""
    text = (PRESETS / "standard.toml").read_text()
    text = text.replace('name = "standard"', 'name = "house rules"', 1)
    text = text.replace("seller_response_days = 7 ", "seller_response_days = 4 ", 1)
    text = text.replace("negotiation_days = 7 ", "negotiation_days = 9 ", 1)
    assert "buyer_answer_days = " not in text
    text = text.replace("negotiation_days = 9 ", "buyer_answer_days = 3\nnegotiation_days = 9 ", 1)
    path = folder / "house.toml"
    path.write_text(text)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["classic", "file"])
def test_the_demo_starts_on_any_policy(policy: str, tmp_path: Path) -> None:
    chosen = str(_policy_file(tmp_path)) if policy == "file" else policy
    expected_name = "house rules" if policy == "file" else policy
    port = free_port()
    log = tmp_path / "demo.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRDEAL_")}
    env["FAIRDEAL_POLICY"] = chosen
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "fairdeal.cli", "demo", "--port", str(port),
             "--database", str(tmp_path / "demo.db")],
            cwd=tmp_path, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, process, log)
        tokens = {}
        for line in log.read_text().splitlines():
            if line.startswith(("bob ", "maya ")):
                account, _role, _email, token = line.split()
                tokens[account] = token
        bob = {"Authorization": f"Bearer {tokens['bob']}"}
        served = httpx.get(f"{base}/api/v1/policy", headers=bob, timeout=5)
        assert served.status_code == 200, served.text
        assert served.json()["name"] == expected_name
        mine = httpx.get(f"{base}/api/v1/disputes", headers=bob, timeout=5).json()["data"]
        statuses = {d["status"] for d in mine}
        assert "under_review" in statuses, statuses
        queue = httpx.get(
            f"{base}/api/v1/mediation/queue",
            headers={"Authorization": f"Bearer {tokens['maya']}"},
            timeout=5,
        )
        assert queue.status_code == 200 and queue.json()["data"], queue.text
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
