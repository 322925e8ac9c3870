from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import include, path

from config.api import api


def home(request: HttpRequest) -> HttpResponse:
    return redirect("/admin/" if request.user.is_authenticated else "/admin/login/")


urlpatterns = [
    path("", home, name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
