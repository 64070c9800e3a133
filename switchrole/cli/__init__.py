"""The ``switchrole`` command line (Typer only): one module per command group over the library, registered in
:mod:`.main`.
"""
