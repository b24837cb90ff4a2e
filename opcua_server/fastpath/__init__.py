"""Every asyncua patch in one place, each saying what it replaces and why."""
