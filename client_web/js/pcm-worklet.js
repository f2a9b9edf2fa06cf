// AudioWorklet: the microphone as 16-bit PCM chunks of about 20 ms, posted to
// the page, which sends them on the WebSocket (the fallback when WebRTC fails).
// While push-to-talk is released the page sets `muted`: silence is sent, so
// the server's voice detection ends the utterance.
class PcmSender extends AudioWorkletProcessor {
  constructor() {
    super();
    this.muted = false;
    this.size = Math.round(sampleRate / 50);
    this.chunk = new Int16Array(this.size);
    this.filled = 0;
    this.port.onmessage = (event) => { this.muted = Boolean(event.data.muted); };
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const sample = this.muted ? 0 : Math.max(-1, Math.min(1, channel[i]));
      this.chunk[this.filled++] = sample < 0 ? sample * 0x8000 : sample * 0x7fff;
      if (this.filled === this.chunk.length) {
        this.port.postMessage(this.chunk.buffer, [this.chunk.buffer]);
        this.chunk = new Int16Array(this.size);  // the one sent is detached (transferred)
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor("pcm-sender", PcmSender);
