"""A local mail catcher: a real SMTP server (aiosmtpd) on a loopback port that keeps what it
receives in memory. ``fairdeal demo`` runs one and shows its mail at /dev/mailbox; the tests
run one to receive the emails the relay sends over real SMTP."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class CaughtMail:
    received_at: datetime
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def header(self, name: str) -> str:
        return str(self.message.get(name, "")).strip()

    @property
    def subject(self) -> str:
        return self.header("Subject")

    @property
    def message_id(self) -> str:
        return self.header("Message-ID")

    def body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return "" if part is None else str(part.get_content())


class Mailbox:
    """What the catcher received, oldest first. ``on_message`` hooks run as each arrives
    (before the server answers 250), in the server's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[CaughtMail] = []
        self.on_message: list[Callable[[CaughtMail], None]] = []

    def add(self, mail: CaughtMail) -> None:
        with self._lock:
            self._messages.append(mail)
        for hook in self.on_message:
            hook(mail)

    def messages(self) -> list[CaughtMail]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        self.mailbox.add(
            CaughtMail(datetime.now(UTC), str(envelope.mail_from), list(envelope.rcpt_tos), raw)
        )
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class MailCatcher:
    """Start with ``start()`` (or as a context manager); ``port`` is where to send."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        # aiosmtpd logs every SMTP command at INFO on "mail.log": the demo's console is not
        # the place for that.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.host = host
        self.port = port or free_port(host)
        self.mailbox = Mailbox()
        self.controller = Controller(
            _Handler(self.mailbox), hostname=host, port=self.port, ready_timeout=10
        )

    def start(self) -> MailCatcher:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> MailCatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
