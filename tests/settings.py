"""Settings for the test suite: the real settings, with a throwaway secret key when none is set.

Redis is chosen per test session in tests/conftest.py (TEST_REDIS_URL, else an embedded server).
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-a-secret")

from trmweb.settings import *  # noqa: E402,F403

# Static files straight from the source folders: the suite runs no collectstatic.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None
