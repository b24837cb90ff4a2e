"""HistoryRead from trustfloor's own historian and event store (OPC 10000-11)."""
