"""The CDK app entry point, run by the CDK CLI: ``python3 -m switchrole.app`` in the ``cdk.json`` that
``switchrole init`` writes (an organisation's own repository), and by this checkout's ``app.py``.

``npx cdk synth`` reads accounts.yaml; ``-c config=other.yaml`` picks another file.
"""

from __future__ import annotations

from switchrole.infra.assembly import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
