"""ASGI entry point, served by uvicorn (``campus-safety serve``): Django, with the device
ingest path answered by the lean app in ``gateway/http_asgi.py``."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campus_safety.settings")
django_application = get_asgi_application()

from campus_safety.gateway.http_asgi import with_ingest  # noqa: E402 (needs Django set up)

application = with_ingest(django_application)
