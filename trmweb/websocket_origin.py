"""Origin checking for WebSockets: browsers must come from one of our hosts; scripts may connect.

A browser always sends Origin, so a page on another site cannot open a viewer's socket (cross-site
WebSocket hijacking) and is refused. Clients that send no Origin at all are scripts and notebooks,
which no victim's browser can be made to act as; they are let in like any REST client.
"""

from channels.security.websocket import OriginValidator
from django.conf import settings


class BrowserOriginValidator(OriginValidator):
    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)


def check_browser_origin(application):
    return BrowserOriginValidator(application, settings.ALLOWED_HOSTS)
