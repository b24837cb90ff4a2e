"""Simulated devices: machines served as real Modbus TCP servers."""

from connectors.simulated.machine import SimulatedMachine

__all__ = ["SimulatedMachine"]
