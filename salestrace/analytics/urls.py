from django.urls import path

from salestrace.analytics import views

app_name = "analytics"

urlpatterns = [
    path("dashboard/vitality/", views.vitality_page, name="vitality"),
]
