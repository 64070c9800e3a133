"""The person's machine: the credential cache, the MFA prompt and the credential_process fast path.

Nothing here imports the CDK, the organisation model or the emulator, and the modules the fast path uses
(:mod:`.cache`, :mod:`.invocation`) import neither boto3 nor Typer: a credential_process answer from the
cache must cost little more than starting Python (see ``make bench``).
"""
