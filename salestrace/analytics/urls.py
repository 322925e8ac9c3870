from django.urls import path

from salestrace.analytics import views

app_name = "analytics"

urlpatterns = [
    path("dashboard/vitality/", views.vitality_page, name="vitality"),
    path("dashboard/deals/", views.deals_page, name="deals"),
    path("dashboard/deals/recompute/", views.deals_recompute, name="deals_recompute"),
    path("dashboard/deals/findings/<int:index>/", views.finding_page, name="finding"),
    path("dashboard/health/", views.health_page, name="health"),
    path("dashboard/health/cell/", views.health_cell, name="health_cell"),
    path("dashboard/health/meeting/", views.meeting_page, name="meeting"),
]
