"""OPC UA client: subscribes to machines' OPC UA servers, maps status codes, writes plain values."""

from connectors.opcua_client.connector import CLIENT_APPLICATION_URI, OpcUaConnector
from connectors.opcua_client.errors import OpcUaClientError, OpcUaWriteError
from connectors.opcua_client.quality import cause_of, quality_of, reading_of, status_name

__all__ = [
    "CLIENT_APPLICATION_URI",
    "OpcUaClientError",
    "OpcUaConnector",
    "OpcUaWriteError",
    "cause_of",
    "quality_of",
    "reading_of",
    "status_name",
]
