"""Stored status of a reading in the SQLite historian: quality and cause as one integer code."""

# A stored format: the codes below are written into every historian file. Add codes for new
# qualities or causes; never renumber one.

from __future__ import annotations

from models import Cause, Quality

STORED_QUALITIES = {Quality.GOOD: 0, Quality.UNCERTAIN: 1, Quality.BAD: 2}
STORED_CAUSES = {
    Cause.NONE: 0,
    Cause.COMMUNICATION: 1,
    Cause.DEVICE_EXCEPTION: 2,
    Cause.INVALID_VALUE: 3,
    Cause.OUT_OF_RANGE: 4,
}
QUALITY_STEP = 16
"""``status = STORED_QUALITIES[quality] * QUALITY_STEP + STORED_CAUSES[cause]``: a Good
reading with no cause is 0, and every Good reading is below ``QUALITY_STEP``."""

STATUS_CODES = {
    (quality, cause): q * QUALITY_STEP + c
    for quality, q in STORED_QUALITIES.items()
    for cause, c in STORED_CAUSES.items()
}
"""The status code of each (quality, cause)."""

GOOD_STATUS = f"status < {QUALITY_STEP}"
"""SQL: the reading is Good."""


def _case(expression: str, codes: dict[Quality, int] | dict[Cause, int]) -> str:
    """SQL mapping ``expression`` (a code) to the stored text it stands for (NULL: unknown)."""
    whens = " ".join(f"WHEN {code} THEN '{member.value}'" for member, code in codes.items())
    return f"CASE {expression} {whens} END"


def _code(column: str, codes: dict[Quality, int] | dict[Cause, int]) -> str:
    """SQL mapping the text ``column`` to its code (NULL: unknown text)."""
    whens = " ".join(f"WHEN '{member.value}' THEN {code}" for member, code in codes.items())
    return f"CASE {column} {whens} END"


QUALITY_TEXT = _case(f"status / {QUALITY_STEP}", STORED_QUALITIES)
CAUSE_TEXT = _case(f"status % {QUALITY_STEP}", STORED_CAUSES)
"""SQL: the quality's and the cause's text of a stored status, as readers are answered."""

STATUS_OF_TEXT = (
    f"{_code('quality', STORED_QUALITIES)} * {QUALITY_STEP} + {_code('cause', STORED_CAUSES)}"
)
"""SQL: the status code of a row of the first layout (quality and cause as text)."""
