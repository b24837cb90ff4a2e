"""OPC UA client: subscribes to machines' OPC UA servers, maps status codes, writes plain values."""

from connectors.opcua_client.connector import OpcUaConnector
from connectors.opcua_client.errors import OpcUaClientError, OpcUaWriteError
from connectors.opcua_client.quality import cause_of, quality_of, reading_of, status_name
from connectors.opcua_client.session import CLIENT_APPLICATION_URI

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
