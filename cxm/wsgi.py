import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings.production")
_django = get_wsgi_application()

from cxm.core.fastlane import with_fast_lane  # noqa: E402  (needs the configured settings)
from surveys.collection.http import METHODS, PATH  # noqa: E402

application = with_fast_lane(_django, paths=PATH, methods=METHODS)
