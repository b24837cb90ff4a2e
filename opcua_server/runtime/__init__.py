"""The composition root: the Site, the ingest bus, scheduling, metrics and the print flow."""
