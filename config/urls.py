from django.contrib import admin
from django.urls import include, path

from config.api import api

urlpatterns = [
    path("", include("salestrace.actions.urls")),
    path("", include("salestrace.customers.urls")),
    path("", include("salestrace.org.urls")),
    path("", include("salestrace.todos.urls")),
    path("", include("salestrace.analytics.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
