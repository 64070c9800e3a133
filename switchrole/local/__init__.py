"""The embedded local AWS: a moto server, taught the few things switchrole's templates need.

Everything that reaches into moto's internals lives in this package
(:mod:`cfn_models`, :mod:`authz`) and runs only inside the emulator's own
process; ``tests/local/test_local_canaries.py`` fails loudly when a moto upgrade
moves what these modules rely on.
"""
