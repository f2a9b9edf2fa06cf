"""Dictation: pure text in, structured drafting out (no sockets, no SQL).

Started with issue 3; for now: normalization of dental French (numbers,
units, FDI teeth, surfaces), voice command matching and prescription lines
with the formulary.  Not yet wired into the session.
"""
