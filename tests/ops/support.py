"""Helpers of the operations tests: real ``fairdeal`` processes on free ports, and a small
HTTP driver that takes a dispute through its first steps over the public API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from e2e.support import png_bytes

API = "/api/v1"
STARTUP = 120.0  # Python processes importing everything at once, on a loaded machine
PATIENCE = 40.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fairdeal_command() -> list[str]:
    script = Path(sys.executable).with_name("fairdeal")
    return [str(script)] if script.exists() else [sys.executable, "-m", "fairdeal.cli"]


def clean_env(**settings: str) -> dict[str, str]:
    """The environment without any FAIRDEAL_* or AWS_* of the caller's, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAIRDEAL_", "AWS_"))}
    env.update(settings)
    return env


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Processes:
    """Subprocesses of one test, each writing stdout and stderr to its own file."""

    workdir: Path
    procs: list[Proc] = field(default_factory=list)

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> Proc:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as handle:  # the child has its own copy of the descriptor
            popen = subprocess.Popen(
                [*fairdeal_command(), *args],
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def serve(self, name: str, env: dict[str, str]) -> str:
        """``fairdeal serve`` on a free port; its base URL once /healthz answers."""
        port = free_port()
        self.spawn(name, ["serve", "--host", "127.0.0.1", "--port", str(port)], env)
        base = f"http://127.0.0.1:{port}"
        self.wait_healthy(base)
        return base

    def wait_healthy(self, base: str) -> None:
        deadline = time.monotonic() + STARTUP
        while True:
            self.check_alive()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{base} did not start")
            time.sleep(0.2)

    def check_alive(self) -> None:
        for proc in self.procs:
            if proc.popen.poll() is not None and proc.popen.returncode not in (0,):
                raise AssertionError(f"{proc.name} exited:\n{proc.output()[-3000:]}")

    def stop(self, proc: Proc) -> None:
        proc.popen.terminate()
        try:
            proc.popen.wait(15)
        except subprocess.TimeoutExpired:
            proc.popen.kill()
            proc.popen.wait()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.popen.poll() is None:
                proc.popen.terminate()
        for proc in self.procs:
            try:
                proc.popen.wait(15)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait()


@contextmanager
def processes(workdir: Path) -> Iterator[Processes]:
    group = Processes(workdir)
    try:
        yield group
    finally:
        group.stop_all()


def wait_for(what: str, probe: Callable[[], Any], patience: float = PATIENCE) -> Any:
    deadline = time.monotonic() + patience
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


class Api:
    """Requests to one or more API processes in turn (a round-robin balancer), counting how
    many each one answered."""

    def __init__(self, bases: list[str]) -> None:
        self.clients = [httpx.Client(base_url=base + API, timeout=30) for base in bases]
        self.served = [0] * len(bases)
        self.turn = 0

    def __call__(
        self, method: str, path: str, token: str, status: int = 200, **kwargs: Any
    ) -> httpx.Response:
        i = self.turn % len(self.clients)
        self.turn += 1
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        response = self.clients[i].request(method, path, headers=headers, **kwargs)
        assert response.status_code == status, (method, path, response.text)
        self.served[i] += 1
        return response

    def close(self) -> None:
        for client in self.clients:
            client.close()


def people(api: Api, platform: str, tag: str) -> dict[str, dict[str, Any]]:
    """A buyer, a seller and a mediator, each with an API token."""
    return {
        role: api(
            "POST",
            "/users",
            platform,
            201,
            json={"role": role, "name": role.title(), "email": f"{role}-{tag}@ops.test"},
        ).json()
        for role in ("buyer", "seller", "mediator")
    }


def shipped_order(api: Api, platform: str, users: dict[str, dict[str, Any]]) -> dict[str, Any]:
    order = api(
        "POST",
        "/orders",
        platform,
        201,
        json={
            "buyer_id": users["buyer"]["id"],
            "seller_id": users["seller"]["id"],
            "currency": "EUR",
            "items": [{"sku": "LAMP", "title": "Desk lamp", "quantity": 1, "unit_price": "40.00"}],
            "shipping_cost": "5.00",
            "payment": {"method": "card", "reference": "pay_ops", "country": "DE"},
        },
    ).json()
    api(
        "POST",
        f"/orders/{order['id']}/ship",
        users["seller"]["api_token"],
        json={"carrier": "DHL", "tracking_number": "JD0001", "protection_days": 60},
    )
    return dict(order)


def upload(api: Api, token: str, content: bytes | None = None) -> dict[str, Any]:
    return dict(
        api(
            "POST",
            "/files",
            token,
            201,
            files={"file": ("photo.png", content or png_bytes(), "image/png")},
        ).json()
    )


def open_dispute(
    api: Api, users: dict[str, dict[str, Any]], order: dict[str, Any], evidence: list[str]
) -> dict[str, Any]:
    return dict(
        api(
            "POST",
            "/disputes",
            users["buyer"]["api_token"],
            201,
            json={
                "order_id": order["id"],
                "item_ids": [order["items"][0]["id"]],
                "reason": "damaged",
                "desired_outcome": "refund_only",
                "amount": "40.00",
                "description": "It arrived broken.",
                "evidence_file_ids": evidence,
            },
        ).json()
    )
