"""The OPC UA method table: validated arguments, role checks, audit, calls into the ports."""
