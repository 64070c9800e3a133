"""The benchmark's organisations are valid and within every IAM quota at every size (no timing here)."""

from __future__ import annotations

import pytest

from bench.organisations import organisation
from bench.scale import naive_policy, policy_stats
from switchrole.iam.policies import MANAGED_POLICY_CHARS, policy_chars
from switchrole.infra.validate import check
from switchrole.model.loading import from_data


@pytest.mark.parametrize("n", [10, 1000, 5000])
@pytest.mark.parametrize("mode", ["stacks", "stacksets"])
def test_no_policy_over_quota_at_any_size(n: int, mode: str) -> None:
    org = from_data(organisation(n, mode=mode))
    assert check(org) == []
    stats = policy_stats(org)
    assert stats["largest_grant_policy"] <= MANAGED_POLICY_CHARS
    assert stats["most_policies_per_group"] <= 10
    assert stats["largest_trust_policy"] <= 2048


def test_the_naive_baseline_breaks_where_switchrole_does_not() -> None:
    org = from_data(organisation(1000))
    assert max(policy_chars(naive_policy(org, g)) for g in org.groups) > MANAGED_POLICY_CHARS
    small = from_data(organisation(10))
    assert max(policy_chars(naive_policy(small, g)) for g in small.groups) < MANAGED_POLICY_CHARS
