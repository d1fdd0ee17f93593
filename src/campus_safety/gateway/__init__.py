"""Protocol adapters (GB/T 28181, MQTT, signed HTTP): device I/O lives here and nowhere else.

Every adapter authenticates the device, parses what it sent and hands a normalised
``ingest.DeviceMessage`` to ``ingest.ingest`` — the one entry point that validates,
deduplicates, commits, and only then lets the adapter acknowledge.
"""
