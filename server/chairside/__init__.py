"""Chairside: real-time voice assistant for dental practices."""

__version__ = "0.1.0"
