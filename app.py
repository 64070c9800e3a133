#!/usr/bin/env python3
"""CDK entry point: ``npx cdk synth`` (uses accounts.yaml) or ``npx cdk synth -c config=other.yaml``.

The same entry as ``python3 -m switchrole.app``, which the cdk.json of ``switchrole init`` runs."""

from switchrole.app import main

main()
