"""Amaranth gateware: every block a wiring.Component; imports only Amaranth."""
