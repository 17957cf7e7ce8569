"""ASGI entry point: HTTP goes to Django, WebSockets to the Channels consumers (origin-checked)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trmweb.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry ready)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from puzzles.routing import websocket_urlpatterns  # noqa: E402
from trmweb.websocket_origin import check_browser_origin  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": check_browser_origin(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
