"""Inbound dialects: one module per client protocol, converting to and from the canonical form."""
