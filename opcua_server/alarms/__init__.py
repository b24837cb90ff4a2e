"""Maintenance alerts as OPC UA alarm conditions (OPC 10000-9)."""
