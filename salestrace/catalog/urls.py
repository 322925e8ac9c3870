from django.urls import path
from django.views.generic import RedirectView

from salestrace.catalog import views

app_name = "catalog"

urlpatterns = [
    path("settings/", RedirectView.as_view(pattern_name="catalog:thresholds"), name="settings"),
    path("settings/thresholds/", views.thresholds_page, name="thresholds"),
    path("settings/options/", views.option_sets_page, name="option_sets"),
    path("settings/options/<slug:set_code>/", views.option_set_page, name="option_set"),
    path("settings/history/", views.history_page, name="history"),
    path("settings/history/<int:change_id>/rollback/", views.rollback, name="rollback"),
]
