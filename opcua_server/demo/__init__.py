"""The simulated site's people: the OEM's designs, the technician, the demo's training."""
