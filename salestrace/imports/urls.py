"""导入: the import wizard."""

from django.urls import path

from salestrace.imports import views

app_name = "imports"

urlpatterns = [
    path("imports/", views.imports_page, name="wizard"),
    path("imports/<int:job_id>/", views.job_page, name="job"),
    path("imports/<int:job_id>/columns/", views.map_page, name="map"),
    path("imports/<int:job_id>/import/", views.commit_page, name="commit"),
    path("imports/mappings/<int:mapping_id>/delete/", views.mapping_delete_page, name="mapping_delete"),
]
