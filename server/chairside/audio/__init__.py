"""Audio in: PCM decoding, resampling to 16 kHz mono, file decoding, Silero VAD."""

SAMPLE_RATE = 16_000
