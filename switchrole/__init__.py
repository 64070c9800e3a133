"""switchrole: one reviewed accounts file -> cross-account switch-role IAM in every AWS account."""

__version__ = "0.1.0"

import os as _os

# jsii prints a large end-of-life banner on every run under Node 20; Node 22/24 are recommended.
_os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
