"""Dictation: pure text in, structured drafting out (no sockets, no SQL).

Started with issue 3; for now: normalization of dental French (numbers,
units, FDI teeth, surfaces) and voice command matching.  Not yet wired into
the session.
"""
