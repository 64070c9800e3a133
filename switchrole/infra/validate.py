"""One entry point for "is this accounts file deployable?": schema, references, IAM quotas and template limits.

The CLI's ``validate`` and ``synth`` and the CDK app all call :func:`load_checked`,
so a file that validates is a file that synthesizes.
"""

from __future__ import annotations

from pathlib import Path

from switchrole.iam.policies import policy_problems
from switchrole.infra.limits import template_problems
from switchrole.model.errors import ConfigError, Problem, sorted_problems
from switchrole.model.loading import from_data, parse_yaml, read_text, to_plain
from switchrole.model.organisation import Organisation
from switchrole.model.yaml_lines import locate_line


def check(org: Organisation) -> list[Problem]:
    """Problems only visible once policies are built (their sizes against IAM's quotas), and the generated
    templates' counts against CloudFormation's limits."""
    return [*policy_problems(org), *template_problems(org)]


def load_checked(path: str | Path, *, merge_keys: bool = False) -> Organisation:
    """Load ``path`` and check every generated policy; raise :class:`ConfigError` listing all problems.
    ``merge_keys``: a base revision's YAML merge keys are let through
    (:func:`switchrole.model.loading.parse_yaml`)."""
    source = str(path)
    root = parse_yaml(
        read_text(path), source, merge_keys=merge_keys
    )  # parsed once: the parse is most of a large file's time
    org = from_data(to_plain(root, source), source, locate=lambda where: locate_line(root, where))
    problems = check(org)
    if problems:
        located = [Problem(p.path, p.message, locate_line(root, p.path)) for p in problems]
        raise ConfigError(sorted_problems(located), str(path))
    return org
