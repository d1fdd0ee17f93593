"""GB/T 28181 (SIP) adapter: cameras, NVRs and alarm boxes register and report here.

``sip``, ``digest`` and ``manscdp`` are pure (bytes in, bytes out); ``server`` does the
asyncio I/O; ``platform`` binds the server to the apps. See docs/devices.md.
"""
