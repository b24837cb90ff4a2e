"""Simulated devices: machines served as real Modbus TCP servers."""

from connectors.simulated.machine import SimulatedMachine, listening_port

__all__ = ["SimulatedMachine", "listening_port"]
