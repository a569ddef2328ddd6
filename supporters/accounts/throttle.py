"""Login throttling: every guess is counted before the password is checked.

Three counters, all in the rate-limit storage that every worker shares (Redis in production),
each taken with one atomic increment, so parallel guesses cannot slip past a limit:

- per (account, client): a client's guesses at one account;
- per client: a client's guesses at any account (spraying one password over many accounts);
- per account, all clients together: a ceiling. Past it the account takes only a few guesses
  a minute, whoever sends them, and the owner is told once by mail. A device the owner logged
  in from before is not slowed, so a stranger cannot lock the owner out.

The account is the normalised address the login looks up; the client is the real client
address (behind a trusted proxy, werkzeug's ProxyFix gives it). Plain functions: the caller
passes the storage, the limits, the account and the client.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from limits import RateLimitItem, parse
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter


class Refusal(StrEnum):
    CLIENT = "client"  # this client has made too many guesses
    SLOWED = "slowed"  # the account is past its ceiling: a few guesses a minute


@dataclass(frozen=True)
class LoginLimits:
    per_account_client: str = "5 per 15 minutes"
    per_client: str = "20 per 15 minutes"
    account_ceiling: str = "30 per hour"
    account_slowed: str = "2 per minute"


@dataclass(frozen=True)
class LoginAttempt:
    refused: Refusal | None
    # The first guess past the ceiling in its window: the owner is to be told.
    ceiling_crossed: bool = False
    counted_for_account: bool = False


def account_key(normalised_email: str) -> str:
    """The counters never hold an address, only a digest of it."""
    return hashlib.sha256(normalised_email.encode()).hexdigest()[:32]


def _item(text: str) -> RateLimitItem:
    return parse(text)


def _one_per_window(item: RateLimitItem) -> RateLimitItem:
    return type(item)(1, item.multiples, namespace=item.namespace)


def claim_login_attempt(
    storage: Storage,
    limits: LoginLimits,
    *,
    account: str,
    client: str,
    known_device: bool,
) -> LoginAttempt:
    """Count one guess (before the password is checked) and say whether it may be checked."""
    strategy = FixedWindowRateLimiter(storage)
    if not strategy.hit(_item(limits.per_client), "login-client", client):
        return LoginAttempt(Refusal.CLIENT)
    if not strategy.hit(_item(limits.per_account_client), "login-pair", account, client):
        return LoginAttempt(Refusal.CLIENT)
    if known_device:
        return LoginAttempt(None)
    ceiling = _item(limits.account_ceiling)
    if strategy.hit(ceiling, "login-account", account):
        return LoginAttempt(None, counted_for_account=True)
    crossed = strategy.hit(_one_per_window(ceiling), "login-notice", account)
    if not strategy.hit(_item(limits.account_slowed), "login-slowed", account):
        return LoginAttempt(Refusal.SLOWED, ceiling_crossed=crossed)
    return LoginAttempt(None, ceiling_crossed=crossed)


def refund_login_attempt(
    storage: Storage, limits: LoginLimits, *, account: str, client: str, attempt: LoginAttempt
) -> None:
    """A right password was not a guess: give back what it used, and forget this client's
    earlier failures on this account."""
    strategy = FixedWindowRateLimiter(storage)
    strategy.clear(_item(limits.per_account_client), "login-pair", account, client)
    _give_back(strategy, _item(limits.per_client), "login-client", client)
    if attempt.counted_for_account:
        _give_back(strategy, _item(limits.account_ceiling), "login-account", account)


def _give_back(strategy: FixedWindowRateLimiter, item: RateLimitItem, *ids: str) -> None:
    if strategy.get_window_stats(item, *ids).remaining < item.amount:
        strategy.hit(item, *ids, cost=-1)


def allow_reset_mail(storage: Storage, limit: str, *, account: str) -> bool:
    """Whether one more password-reset mail may go to this address in the window. Past the
    limit the answer to the visitor stays the same; only no further mail is queued."""
    return FixedWindowRateLimiter(storage).hit(_item(limit), "reset-mail", account)
