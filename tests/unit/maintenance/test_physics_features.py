"""Physics features: shaft power, temperature difference and tool strain in SI units."""

from __future__ import annotations

import math

import numpy as np
import pytest

from maintenance.physics import shaft_power_w, temperature_difference_k, tool_strain_nm_min


def test_one_newton_metre_at_sixty_rpm_is_two_pi_watts() -> None:
    # 60 rpm = 1 rev/s = 2π rad/s; P = τ·ω = 1 N·m × 2π rad/s.
    assert shaft_power_w(1.0, 60.0) == pytest.approx(2 * math.pi)


def test_power_scales_with_torque_and_speed() -> None:
    power = shaft_power_w(np.array([40.0, 80.0]), np.array([1500.0, 750.0]))
    assert power[0] == pytest.approx(power[1])
    assert power[0] == pytest.approx(40.0 * 1500.0 * 2 * math.pi / 60)


def test_temperature_difference_and_strain() -> None:
    assert temperature_difference_k(310.5, 300.0) == pytest.approx(10.5)
    assert tool_strain_nm_min(200.0, 55.0) == pytest.approx(11_000.0)
