"""One module per ``bitmac`` subcommand: ``HELP``, ``add_arguments(parser)``, ``run(args)``."""
