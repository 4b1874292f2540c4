from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter(trailing_slash=False)
router.register("audit", api.AuditEventViewSet, basename="audit-event")

urlpatterns = router.urls
