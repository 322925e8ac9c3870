"""The project's URLs plus the floor endpoint of the load benchmark."""

from django.urls import path

from bench.floor import floor_action_create
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("bench/floor/actions", floor_action_create, name="bench-floor-actions"),
    *project_urlpatterns,
]
