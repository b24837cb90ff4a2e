"""Northbound OPC UA server, the composition root and the CLI."""
