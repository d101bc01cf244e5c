"""Email over SMTP with the standard library (plain, STARTTLS or implicit TLS), and the
stand-in that only logs when no SMTP host is configured."""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from fairdeal.services.notifications import DeliveryError, OutgoingEmail

log = logging.getLogger("fairdeal.email")


def build_message(email: OutgoingEmail, sender: str) -> EmailMessage:
    """The MIME message: plain text with an HTML alternative, and the stable Message-ID."""
    message = EmailMessage()
    message["From"] = sender
    name, address = email.to_name, email.to_address
    try:
        message["To"] = Address(display_name=name, addr_spec=address) if name else address
    except (ValueError, IndexError):
        message["To"] = address
    message["Subject"] = email.subject
    if "Date" not in email.headers:  # the payload dates it on the product's clock
        message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = email.message_id
    message["Auto-Submitted"] = "auto-generated"
    for key, value in email.headers.items():
        message[key] = value
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


class _SmtpSession:
    def __init__(self, client: smtplib.SMTP, sender: str) -> None:
        self.client, self.sender = client, sender

    def send(self, email: OutgoingEmail) -> None:
        envelope_from = parseaddr(self.sender)[1] or self.sender
        try:
            refused = self.client.send_message(
                build_message(email, self.sender), from_addr=envelope_from
            )
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise DeliveryError(
                f"recipient refused: {error.recipients}",
                permanent=all(500 <= c < 600 for c in codes),
                status_code=codes[0] if codes else None,
            ) from None
        except smtplib.SMTPResponseException as error:
            raise DeliveryError(
                f"SMTP {error.smtp_code}: {error.smtp_error!r}",
                permanent=500 <= error.smtp_code < 600,
                status_code=error.smtp_code,
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"SMTP: {type(error).__name__}: {error}") from None
        if refused:
            raise DeliveryError(f"recipient refused: {refused}", permanent=True)


class SmtpMailer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        tls: str = "none",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        local_hostname: str | None = None,
    ) -> None:
        self.host, self.port, self.sender, self.tls = host, port, sender, tls
        self.username, self.password, self.timeout = username, password, timeout
        self._local_hostname = local_hostname

    @property
    def local_hostname(self) -> str:
        """The name we greet with (EHLO), looked up once: smtplib would ask the resolver
        again for every connection, which can take a good part of a second."""
        if self._local_hostname is None:
            self._local_hostname = socket.getfqdn()
        return self._local_hostname

    @contextmanager
    def session(self) -> Iterator[_SmtpSession]:
        try:
            client = self._connect()
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(
                f"cannot reach SMTP server {self.host}:{self.port}: {error}"
            ) from None
        try:
            yield _SmtpSession(client, self.sender)
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()

    def _connect(self) -> smtplib.SMTP:
        # Built only when used: loading the system's CA store takes a noticeable moment.
        context = ssl.create_default_context() if self.tls != "none" else None
        client: smtplib.SMTP
        if self.tls == "tls":
            client = smtplib.SMTP_SSL(
                self.host,
                self.port,
                timeout=self.timeout,
                context=context,
                local_hostname=self.local_hostname,
            )
        else:
            client = smtplib.SMTP(
                self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname
            )
        try:
            client.ehlo()
            if self.tls == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if self.username:
                client.login(self.username, self.password or "")
        except BaseException:
            client.close()
            raise
        return client


class _LogSession:
    def send(self, email: OutgoingEmail) -> None:
        log.info(
            "email (no SMTP host set, not sent) to %s: %s [%s]",
            email.to_address,
            email.subject,
            email.message_id,
        )


class LoggingMailer:
    """FAIRDEAL_SMTP_HOST unset: emails are only logged (and count as sent)."""

    @contextmanager
    def session(self) -> Iterator[_LogSession]:
        yield _LogSession()
