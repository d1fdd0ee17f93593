"""The gateway's fixtures (a fake platform, a real SIP server in a thread) for the
video dialog tests."""

from tests.gateway.conftest import database_url, platform_env  # noqa: F401
from tests.gateway.gb28181.conftest import platform, sip_server, start_server  # noqa: F401
from tests.video.support import cameras, rig  # noqa: F401
