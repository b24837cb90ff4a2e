"""The OPC UA address space: namespaces, node builders, units, objects after the companion specs."""
