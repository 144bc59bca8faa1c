"""The ``ocift`` command line: local target or real tenancy, one set of subcommands."""
