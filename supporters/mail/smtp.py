"""The SMTP transport: one connection per pass, and what a failure means (the server's, the
message's for good, or the message's for now)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

SMTP_TIMEOUT = 30  # seconds per SMTP command; well inside LEASE, so a lease never expires mid-send


class ServerUnavailable(Exception):
    """The SMTP server (not the message) is the problem: stop this pass, retry later."""


class PermanentFailure(Exception):
    """This message can never be delivered as it is (5xx, rejected or unusable address)."""


class TransientFailure(Exception):
    """This message could not be delivered now (4xx); try it again after a backoff."""


class SmtpConnection:
    """One SMTP connection for a whole pass, opened on first use, dropped after an error."""

    def __init__(self, mail_url: str, timeout: float = SMTP_TIMEOUT) -> None:
        self.url = urlsplit(mail_url)
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        url = self.url
        host = url.hostname or "localhost"
        smtp: smtplib.SMTP
        if url.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(
                host, url.port or 465, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, url.port or 25, timeout=self.timeout)
        try:
            if url.scheme == "smtp+starttls":
                smtp.starttls(context=ssl.create_default_context())
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, email: EmailMessage, *, sender: str, recipient: str) -> None:
        if self._smtp is None:
            try:
                self._smtp = self._connect()
            except (OSError, smtplib.SMTPException) as error:
                raise ServerUnavailable(describe(error)) from error
        try:
            self._smtp.send_message(email, from_addr=sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as error:
            self.close()
            codes = [code for code, _ in error.recipients.values()]
            text = "; ".join(
                f"{address}: {code} {_text(reply)}"
                for address, (code, reply) in error.recipients.items()
            )
            if codes and all(500 <= code < 600 for code in codes):
                raise PermanentFailure(f"recipient refused: {text}") from error
            raise TransientFailure(f"recipient deferred: {text}") from error
        except smtplib.SMTPSenderRefused as error:
            # Our own From address is refused: a configuration problem for every message.
            self.close()
            raise ServerUnavailable(f"sender refused: {describe(error)}") from error
        except smtplib.SMTPNotSupportedError as error:
            # e.g. a non-ASCII address and a server without SMTPUTF8: retrying cannot help.
            self.close()
            raise PermanentFailure(describe(error)) from error
        except smtplib.SMTPResponseException as error:
            self.close()
            if 400 <= error.smtp_code < 500:
                # 421 closing, 451 local error, 452 out of storage ... after the recipient was
                # accepted: the server cannot take mail just now, whatever the message.
                raise ServerUnavailable(describe(error)) from error
            if 500 <= error.smtp_code < 600:
                raise PermanentFailure(describe(error)) from error
            raise TransientFailure(describe(error)) from error
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise ServerUnavailable(describe(error)) from error

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}"
