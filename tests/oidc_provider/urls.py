from django.contrib.auth import authenticate, login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def sign_in(request: HttpRequest) -> HttpResponse:
    """The provider's own sign-in (a test stand-in for its login page)."""
    if request.method == "POST":
        user = authenticate(
            request, username=request.POST.get("username"), password=request.POST.get("password")
        )
        if user is None:
            return HttpResponse("wrong password", status=401)
        login(request, user)
        return HttpResponseRedirect(request.POST.get("next") or "/")
    return HttpResponse("sign in with a POST", content_type="text/plain")


urlpatterns = [
    path("login/", sign_in),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
