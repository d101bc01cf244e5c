"""The load generator: an async aiohttp client in a process of its own (so that its CPU is not
the server's), run as ``python -m benchmarks.loadgen SPEC.json RESULT.json``.

aiohttp, not httpx: on these two cores the load generator shares the CPU with the server it
measures (pgbench, the baseline, is C), and httpx cost 0.77 ms of CPU per request against the
constant route -- more than the server's own share. ``transitions`` reports the load
generator's CPU per request beside the server's.

Closed loop: each of N clients has one keep-alive connection and sends its next request when
the last one answered. Client ``c`` talks to ``ports[c % len(ports)]``, as a load balancer in
front of several API processes would spread them. Nothing is recorded during the warm-up.

Spec ``{"mode": "lifecycle", ...}``: each client takes the next job (an order of its own) and
drives it through open -> seller's solution -> buyer accepts (the refund); every answered
request is one transition. Spec ``{"mode": "requests", ...}``: each client sends requests
picked at random from ``requests`` ([kind, path, token]). Spec ``{"mode": "signed_in", ...}``:
the same, but client ``c`` sends only the requests of ``users[c % len(users)]`` ([kind, path,
headers] each: a web page with that user's session cookie, or the API with their token), as
one person signed in. Spec ``{"mode": "sign_in", ...}``: each client fetches the login page
and signs in with ``credentials[c % len(credentials)]`` ([email, password]), again and
again, as a fresh browser each time."""

from __future__ import annotations

import asyncio
import json
import random
import re
import sys
import time
from collections import defaultdict
from typing import Any

import aiohttp

API = "/api/v1"


class Answer:
    """What the load generator keeps of a response: its status and its body."""

    __slots__ = ("body", "status_code")

    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code, self.body = status_code, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """One client: one keep-alive connection to one API process, and its own cookies."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1),
            # unsafe: keep cookies set by a server addressed by IP (the web pages' session)
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=60),
        )

    async def request(self, method: str, path: str, **kwargs: Any) -> Answer:
        async with self.session.request(
            method, self.base + path, allow_redirects=False, **kwargs
        ) as response:
            return Answer(response.status, await response.read())

    async def get(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("POST", path, **kwargs)

    async def aclose(self) -> None:
        await self.session.close()


class Recorder:
    def __init__(self, warmup_until: float, stop_at: float) -> None:
        self.warmup_until, self.stop_at = warmup_until, stop_at
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: list[str] = []
        self.lifecycles = 0
        # Every answered request, warm-up and tail included: what the server's CPU over the
        # whole run is divided by (benchmarks/transitions.py).
        self.answered = 0

    def record(self, kind: str, started: float, response: Answer, expected: int) -> bool:
        ended = time.perf_counter()
        ok = response.status_code == expected
        self.answered += ok
        if started >= self.warmup_until and ended <= self.stop_at:
            if ok:
                self.latencies[kind].append((ended - started) * 1000)
            else:
                self.errors[f"{kind} {response.status_code}"] += 1
        if not ok and len(self.samples) < 5:
            self.samples.append(f"{kind} {response.status_code}: {response.text[:300]}")
        return ok


async def lifecycle_client(client: Client, jobs: list[dict[str, str]], rec: Recorder) -> None:
    for job in jobs:
        if time.perf_counter() >= rec.stop_at:
            return
        buyer = {"Authorization": f"Bearer {job['buyer_token']}"}
        seller = {"Authorization": f"Bearer {job['seller_token']}"}
        started = time.perf_counter()
        response = await client.post(
            f"{API}/disputes",
            headers=buyer,
            json={
                "order_id": job["order_id"],
                "item_ids": [job["item_id"]],
                "reason": "damaged",
                "desired_outcome": "refund_only",
                "amount": "40.00",
                "description": "The lamp arrived with its shade crushed.",
                "evidence_file_ids": [job["file_id"]],
            },
        )
        if not rec.record("open", started, response, 201):
            continue
        dispute_id = response.json()["id"]
        started = time.perf_counter()
        response = await client.post(
            f"{API}/disputes/{dispute_id}/solutions",
            headers=seller,
            json={"kind": "refund_only", "amount": "40.00", "comment": "Sorry: full refund."},
        )
        if not rec.record("solution", started, response, 201):
            continue
        solution_id = response.json()["solutions"][-1]["id"]
        started = time.perf_counter()
        response = await client.post(
            f"{API}/disputes/{dispute_id}/solutions/{solution_id}/accept", headers=buyer
        )
        if rec.record("accept", started, response, 200):
            body = response.json()
            if body["status"] != "closed" and len(rec.samples) < 5:
                rec.samples.append(f"accept left the dispute {body['status']}")
            elif started >= rec.warmup_until and time.perf_counter() <= rec.stop_at:
                rec.lifecycles += 1


async def request_client(
    client: Client, requests: list[list[str]], rec: Recorder, seed: int
) -> None:
    with_tokens = [
        [kind, path, {"Authorization": f"Bearer {token}"}] for kind, path, token in requests
    ]
    await signed_in_client(client, with_tokens, rec, seed)


async def signed_in_client(
    client: Client, requests: list[list[Any]], rec: Recorder, seed: int
) -> None:
    """GETs picked at random from ``requests`` ([kind, path, headers] each), one at a time."""
    rng = random.Random(seed)
    while time.perf_counter() < rec.stop_at:
        kind, path, headers = rng.choice(requests)
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        rec.record(kind, started, response, 200)


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


async def sign_in_client(client: Client, credentials: list[str], rec: Recorder) -> None:
    email, password = credentials
    while time.perf_counter() < rec.stop_at:
        client.session.cookie_jar.clear()  # a new visitor: the login page issues an anonymous session
        started = time.perf_counter()
        page = await client.get("/login")
        if not rec.record("login page", started, page, 200):
            continue
        token = CSRF_FIELD.search(page.text)
        form = {"email": email, "password": password, "csrf_token": token.group(1) if token else ""}
        started = time.perf_counter()
        signed = await client.post("/login", data=form)
        rec.record("sign in", started, signed, 303)


async def main(spec: dict[str, Any]) -> dict[str, Any]:
    clients = int(spec["clients"])
    ports = spec["ports"]
    https = [Client(ports[c % len(ports)]) for c in range(clients)]
    start = time.perf_counter()
    rec = Recorder(start + spec["warmup"], start + spec["warmup"] + spec["duration"])
    if spec["mode"] == "lifecycle":
        jobs = spec["jobs"]
        tasks = [lifecycle_client(https[c], jobs[c::clients], rec) for c in range(clients)]
    elif spec["mode"] == "signed_in":
        users = spec["users"]
        tasks = [signed_in_client(https[c], users[c % len(users)], rec, c) for c in range(clients)]
    elif spec["mode"] == "sign_in":
        logins = spec["credentials"]
        tasks = [sign_in_client(https[c], logins[c % len(logins)], rec) for c in range(clients)]
    else:
        tasks = [request_client(https[c], spec["requests"], rec, c) for c in range(clients)]
    await asyncio.gather(*tasks)
    ended = min(time.perf_counter(), rec.stop_at)
    for http in https:
        await http.aclose()
    return {
        "clients": clients,
        "seconds": round(ended - rec.warmup_until, 3),
        "latencies_ms": rec.latencies,
        "errors": rec.errors,
        "error_samples": rec.samples,
        "lifecycles": rec.lifecycles,
        "answered_in_all": rec.answered,
        "ran_out_of_jobs": spec["mode"] == "lifecycle" and time.perf_counter() < rec.stop_at,
    }


if __name__ == "__main__":
    with open(sys.argv[1]) as handle:
        spec_ = json.load(handle)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(main(spec_))
    with open(sys.argv[2], "w") as handle:
        json.dump(result, handle)
