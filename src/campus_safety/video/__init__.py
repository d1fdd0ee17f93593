"""Live video, recordings and PTZ over GB/T 28181 (issue #16)."""
