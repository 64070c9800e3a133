"""One cloud assembly: `switchrole synth` and `npx cdk synth` write the same templates.

Otherwise `cdk diff` after a deploy made from one of them shows changes on an unchanged file.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_switchrole_synth_and_cdk_synth_write_identical_templates(example_assembly_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true", "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    out = tmp_path / "cdk.out"
    result = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "cdk"), "synth", "--no-notices", "-q", "-o", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    ours = sorted(p.name for p in example_assembly_dir.glob("*.template.json"))
    assert ours == sorted(p.name for p in out.glob("*.template.json")) and len(ours) == 5
    for name in ours:
        assert (out / name).read_text() == (example_assembly_dir / name).read_text(), name
