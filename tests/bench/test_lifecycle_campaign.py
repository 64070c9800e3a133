"""The lifecycle campaign (bench/lifecycle.py), seeded and small: random edit sequences of an accounts file, every
step validated, synthesized, guarded against replacements and its access review checked against the templates.
`make lifecycle` runs the large campaign, with deployed updates on the local emulator."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from factories import dump

from bench import lifecycle
from switchrole.infra.assembly import synth
from switchrole.model.organisation import Organisation
from switchrole.review.access_diff import diff

NOW = lifecycle.DEFAULT_NOW


def test_a_seeded_small_campaign_has_no_failure() -> None:
    figures = lifecycle.run(sequences=2, steps=4, seed=18, deploy=0, now=NOW, out=None, quiet=True)
    assert [(f.kind, f.sequence, f.step, f.edit, f.detail) for f in figures.failures] == []
    assert figures.sequences == 2
    assert figures.steps + sum(figures.skipped.values()) == 8


def test_the_generator_is_seeded() -> None:
    def edits(seed: int) -> list[str]:
        ctx = lifecycle.Ctx(random.Random(seed), NOW)
        data, kinds = lifecycle.example(), []
        for _ in range(20):
            data, kind = lifecycle.propose(data, ctx)
            kinds.append(kind)
        return kinds

    assert edits(7) == edits(7)
    assert edits(7) != edits(8)


def test_every_edit_kind_applies_somewhere() -> None:
    """Each edit, tried on both starting organisations with a few seeds, yields a file that validates."""
    from switchrole.infra.validate import check
    from switchrole.model.loading import from_data

    for edit, _ in lifecycle.ROUTINE + lifecycle.REFUSED:
        applied = 0
        for seed in range(6):
            ctx = lifecycle.Ctx(random.Random(seed), NOW)
            data = lifecycle.example() if seed % 2 else lifecycle.small_organisation(ctx.rng)
            needs = {lifecycle.strict_holder_given_back: lifecycle.strict_last_holder_removed,
                     lifecycle.grant_policies_down: lifecycle.grant_policies_up}  # fmt: skip
            try:
                if edit in needs:
                    needs[edit](data, ctx)
                edit(data, ctx)
            except lifecycle.NotApplicable:
                continue
            assert check(from_data(data, "edited")) == [], edit.__name__
            applied += 1
        assert applied, f"{edit.__name__} applied to no organisation"


@pytest.fixture(scope="module")
def step_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[lifecycle.Step, lifecycle.Step, Organisation]:
    """The example and the example with bob's until: moved into the past (he loses Developer and ReadOnly)."""
    work = tmp_path_factory.mktemp("lifecycle")
    campaign = lifecycle.Campaign(seed=0, now=NOW, workdir=work, out=None, log=lambda _: None)
    base_data = lifecycle.example()
    head_data = lifecycle.example()
    head_data["users"]["bob"]["until"] = "2020-01-01T00:00:00Z"
    base = campaign.build(base_data, campaign.load(base_data))
    head = campaign.build(head_data, campaign.load(head_data))
    return base, head, head.org


def test_the_recomputation_sees_what_an_until_in_the_past_removes(
    step_pair: tuple[lifecycle.Step, lifecycle.Step, Organisation],
) -> None:
    base, head, _ = step_pair
    assert base.access - head.access == {
        ("bob", "333333333333", "Developer"),
        ("bob", "333333333333", "ReadOnly"),
        ("bob", "222222222222", "ReadOnly"),
    }
    assert head.access - base.access == set()


def test_the_check_fails_when_the_review_leaves_a_change_out(
    step_pair: tuple[lifecycle.Step, lifecycle.Step, Organisation],
) -> None:
    """The comparison can fail: a review that drops one end change disagrees with the templates."""
    base, head, org = step_pair
    review = json.loads(diff(base.org, org, base_label="a", head_label="b", now=NOW).to_json())
    gained, lost = lifecycle.review_changes(review, base.org, org, NOW)
    assert (gained, lost) == (set(), base.access - head.access)
    review["changed"] = review["changed"][1:] if review["changed"] else review["changed"]
    review["weaker"] = []
    assert lifecycle.review_changes(review, base.org, org, NOW)[1] != lost


def test_the_guard_refusal_edits_are_refused(tmp_path: Path) -> None:
    """A role path moved under the same IAM name cannot deploy as one update: the campaign expects a refusal."""
    from switchrole.infra.replacement import collisions
    from switchrole.infra.validate import load_checked

    base_data = lifecycle.example()
    head_data = lifecycle.example()
    head_data["roles"]["Admin"]["role_path"] = "/switchrole/moved/"
    outs = []
    for name, data in (("base", base_data), ("head", head_data)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(dump(data))
        out = tmp_path / f"{name}.out"
        synth(load_checked(path), out)
        outs.append(out)
    assert collisions(*outs)
