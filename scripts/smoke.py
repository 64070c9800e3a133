#!/usr/bin/env python3
"""Thin executable entry to `switchrole smoke` (same options, same exit codes)."""

import sys

from switchrole.cli.main import run

if __name__ == "__main__":
    sys.exit(run(["smoke", *sys.argv[1:]]))
