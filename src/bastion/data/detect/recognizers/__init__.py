"""Bastion's built-in recognizers, one module per family (see ``registry._BUILTIN_MODULES``)."""
