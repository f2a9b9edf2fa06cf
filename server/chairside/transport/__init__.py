"""Transports: bytes in, events out; nothing else."""
