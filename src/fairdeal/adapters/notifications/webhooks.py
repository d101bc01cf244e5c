"""Webhooks: Standard Webhooks signing, target URL checks, and the HTTP sender (httpx)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fairdeal.domain.errors import ValidationError
from fairdeal.services.notifications import DeliveryError

if TYPE_CHECKING:  # imported where a batch is sent: not on every process's start-up
    import httpx

Resolver = Callable[[str, int], list[str]]


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed by the decoded secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, allow_private: bool, resolver: Resolver = resolve) -> None:
    """Refuse what may not be a webhook target: anything but http(s), and -- unless private
    targets are allowed -- any host that is or resolves to a loopback, private, link-local
    or otherwise non-public address."""
    if len(url) > 2048:
        raise ValidationError("url is longer than 2048 characters", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationError("url is not a valid URL", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("url must be an http or https URL with a host", field="url")
    if parts.username or parts.password:
        raise ValidationError("url must not carry credentials", field="url")
    if allow_private:
        return
    host = parts.hostname
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = resolver(host, port)
        except (OSError, UnicodeError):
            raise ValidationError(f"url: the host {host} does not resolve", field="url") from None
    if not addresses:
        raise ValidationError(f"url: the host {host} does not resolve", field="url")
    private = [a for a in addresses if not _is_public(a)]
    if private:
        raise ValidationError(
            f"url: {host} is a private, loopback or link-local address ({private[0]}); "
            "webhooks go to public addresses only",
            field="url",
        )


class HttpWebhookSender:
    """POSTs signed events with a short timeout and no redirects followed. The URL is
    checked again at every send: a host may resolve elsewhere than when it was registered."""

    def __init__(
        self,
        *,
        allow_private: bool,
        timeout: float = 5.0,
        resolver: Resolver = resolve,
        wall_clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.allow_private, self.resolver, self.wall_clock = allow_private, resolver, wall_clock
        self.timeout = timeout
        self.transport = transport

    def check_url(self, url: str) -> None:
        check_url(url, allow_private=self.allow_private, resolver=self.resolver)

    @contextmanager
    def session(self) -> Iterator[_WebhookSession]:
        """One HTTP client (its connections kept alive) for a batch of deliveries."""
        import httpx

        with httpx.Client(
            timeout=self.timeout,
            follow_redirects=False,
            transport=self.transport,
            headers={"user-agent": "Fairdeal-Webhooks/1"},
        ) as client:
            yield _WebhookSession(self, client)


class _WebhookSession:
    def __init__(self, sender: HttpWebhookSender, client: httpx.Client) -> None:
        self.sender, self.client = sender, client

    def deliver(self, url: str, secret: str, message_id: str, body: bytes) -> int:
        import httpx

        try:
            self.sender.check_url(url)
        except ValidationError as refused:
            raise DeliveryError(refused.detail) from None
        # Real wall-clock seconds, even in sandbox mode: receivers check them against theirs.
        timestamp = int(self.sender.wall_clock())
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            # After a rotation ``secret`` holds the new and the old secret: one signature each.
            "webhook-signature": " ".join(
                sign(each, message_id, timestamp, body) for each in secret.split()
            ),
        }
        try:
            response = self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryError(f"{type(error).__name__}: {error}") from None
        if 200 <= response.status_code < 300:
            return response.status_code
        raise DeliveryError(
            f"HTTP {response.status_code} {response.reason_phrase}".strip(),
            status_code=response.status_code,
        )
