"""An account's environment, read from its name's words, as a colour: the one place the console links (AESR's
config), the terminal matrix and anything else that colours an account agree on.

Why from the name: the accounts file has no environment field, and names like `shop-prod` or `data-stg` already
say it; an account whose name says nothing gets a neutral blue.
"""

from __future__ import annotations

import re

from switchrole.model.organisation import TargetAccount

ENVIRONMENT_COLOURS = (  # account-name words -> AESR colour (hex RGB)
    (("prod", "production", "prd", "live"), "d13212"),
    (("stg", "stage", "staging", "uat", "qa", "test", "preprod"), "f89256"),
    (("dev", "development", "sandbox", "sbx", "lab"), "2ea043"),
)
DEFAULT_COLOUR = "3b82f6"


def colour(account: TargetAccount) -> str:
    """The colour of an account (hex RGB): red for production words, orange for staging, green for development."""
    words = set(re.split(r"[^a-z0-9]+", account.name.lower()))
    return next((c for names, c in ENVIRONMENT_COLOURS if words & set(names)), DEFAULT_COLOUR)
