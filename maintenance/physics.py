"""Physics features of a machining process: shaft power, heat-dissipation margin, tool strain."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from maintenance.features import FloatArray

RPM_TO_RAD_PER_S = 2.0 * np.pi / 60.0
"""Angular speed of one revolution per minute, in rad/s."""


def shaft_power_w(torque_nm: npt.ArrayLike, speed_rpm: npt.ArrayLike) -> FloatArray:
    """Mechanical power P = τ·ω in watts, from torque [N·m] and rotational speed [rpm]."""
    torque = np.asarray(torque_nm, dtype=np.float64)
    return torque * np.asarray(speed_rpm, dtype=np.float64) * RPM_TO_RAD_PER_S


def temperature_difference_k(process_k: npt.ArrayLike, ambient_k: npt.ArrayLike) -> FloatArray:
    """Process minus ambient temperature [K]: a small difference means poor heat dissipation."""
    return np.asarray(process_k, dtype=np.float64) - np.asarray(ambient_k, dtype=np.float64)


def tool_strain_nm_min(tool_wear_min: npt.ArrayLike, torque_nm: npt.ArrayLike) -> FloatArray:
    """Tool wear × torque [min·N·m]: the load history a cutting tool has accumulated."""
    return np.asarray(tool_wear_min, dtype=np.float64) * np.asarray(torque_nm, dtype=np.float64)
