from django.urls import path

from salestrace.analytics import views

app_name = "analytics"

urlpatterns = [
    path("dashboard/vitality/", views.vitality_page, name="vitality"),
    path("dashboard/deals/", views.deals_page, name="deals"),
    path("dashboard/deals/recompute/", views.deals_recompute, name="deals_recompute"),
    path("dashboard/deals/findings/<int:index>/", views.finding_page, name="finding"),
]
