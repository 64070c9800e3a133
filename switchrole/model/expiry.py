"""When access ends: the ``until:`` times of grants and users, compared as IAM compares them.

A grant holds while ``aws:CurrentTime`` is before its ``until`` (DateLessThan), so access has ended *at* that
time; access that two grants give ends at the later end, access that needs a grant and the user ends at the
earlier one. Everything here is pure: the current time is passed in (:func:`utc_now` reads the clock).
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from switchrole.model.errors import Path

if TYPE_CHECKING:
    from switchrole.model.organisation import Organisation

End = datetime.datetime | None  # when access ends (a UTC time); None: it does not
EXPIRING_SOON = datetime.timedelta(days=14)  # validate warns about access ending within this


def utc_now() -> datetime.datetime:
    """The current time, in UTC (what every expiry is compared with)."""
    return datetime.datetime.now(datetime.UTC)


def earlier(a: End, b: End) -> End:
    """The end of access that needs both (a grant *and* the user's own end): the earlier one."""
    return b if a is None else a if b is None else min(a, b)


def later(a: End, b: End) -> End:
    """The end of access that either gives (two grants of the same role): the later one."""
    return None if a is None or b is None else max(a, b)


def ended(end: End, now: datetime.datetime) -> bool:
    """IAM's grant holds while ``aws:CurrentTime < until`` (DateLessThan): at ``until`` it has ended."""
    return end is not None and end <= now


def iso(end: datetime.datetime) -> str:
    """The form IAM's Date conditions and accounts.yaml both use: ``2027-03-31T00:00:00Z``."""
    return end.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expiry_entries(org: Organisation) -> list[tuple[Path, datetime.datetime]]:
    """Every ``until:`` in the file, as (field path, time): grants in file order, then users."""
    entries: list[tuple[Path, datetime.datetime]] = [
        (("groups", name, "grants", i, "until"), grant.until)
        for name, group in org.groups.items()
        for i, grant in enumerate(group.grants)
        if grant.until is not None
    ]
    entries += [(("users", name, "until"), user.until) for name, user in org.users.items() if user.until is not None]
    return entries


def expired_entries(org: Organisation, now: datetime.datetime) -> list[tuple[Path, datetime.datetime]]:
    """The ``until:`` entries IAM already enforces at ``now`` (field path, time): they grant nothing any more
    and should leave the file. Pure, for ``validate`` and for audits."""
    return [(path, until) for path, until in expiry_entries(org) if ended(until, now)]


def expiring_entries(
    org: Organisation, now: datetime.datetime, within: datetime.timedelta = EXPIRING_SOON
) -> list[tuple[Path, datetime.datetime]]:
    """The ``until:`` entries that end after ``now`` but within ``within`` (field path, time)."""
    return [(path, until) for path, until in expiry_entries(org) if now < until <= now + within]
