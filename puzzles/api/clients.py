"""Who is calling the API, and how often they may submit."""

import logging

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from puzzles.client_identity import request_client_address
from puzzles.services.jobs import Client

logger = logging.getLogger(__name__)


def client_of(request) -> Client:
    """The caller: a signed-in user (session or token), else the browser session (made on first use).

    Anonymous limits go by the address puzzles.client_identity finds (behind a proxy: TRM_TRUSTED_PROXIES,
    not daphne's --proxy-headers, which believes any peer's header).
    """
    ip = request_client_address(request)
    if request.user.is_authenticated:
        return Client(owner_key=f"user:{request.user.pk}", user=request.user, ip=ip)
    if not request.session.session_key:
        request.session.save()
    return Client(owner_key=f"session:{request.session.session_key}", ip=ip)


class _SettingsRate:
    """Reads the rate from the settings at request time, so operators and tests can change it."""

    setting_name = ""

    def get_rate(self):
        return getattr(settings, self.setting_name)

    def get_ident(self, request):
        # DRF's own ident reads X-Forwarded-For from anyone when NUM_PROXIES is unset: a new header per
        # request would be a new client. One identity for every limit instead.
        return request_client_address(request) or "unknown"

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # Redis (the counter store) is down: serve rather than refuse everybody
            logger.warning("rate limit not applied: the cache is unreachable", exc_info=True)
            return True


class SubmitAnonThrottle(_SettingsRate, AnonRateThrottle):
    scope = "submit_anon"
    setting_name = "TRM_SUBMIT_RATE_ANON"


class SubmitUserThrottle(_SettingsRate, UserRateThrottle):
    scope = "submit_user"
    setting_name = "TRM_SUBMIT_RATE_USER"
