"""The ``bastion`` command line: one Typer sub-app per domain, no logic beyond I/O."""
