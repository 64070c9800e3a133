#!/usr/bin/env python3
"""CDK entry point: ``npx cdk synth`` (uses accounts.yaml) or ``npx cdk synth -c config=other.yaml``."""

from switchrole.assembly import main

main()
