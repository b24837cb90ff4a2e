"""Part evidence, certificates, canonical hashing, Merkle batches, chain anchoring, verification."""
