"""Chairside: real-time voice assistant for dental practices."""

import os

# numpy's OpenBLAS starts a thread per core that spins for a while after each
# call (the mel spectrogram's product, once per decode): 0.06 CPU s per audio
# s of one stream on 2 cores, for nothing (docs/benchmarks.md).  Decodes run
# in parallel already; BLAS gets one thread.  Set before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
