from django.urls import path

from salestrace.actions import views

app_name = "actions"

urlpatterns = [
    path("", views.today_page, name="today"),
    path("customers/<int:customer_id>/actions/new/", views.action_new_page, name="new"),
    path("actions/<int:action_id>/summary/", views.action_summary_page, name="summary"),
    path("evidence/<int:evidence_id>/retry/", views.evidence_retry_page, name="evidence_retry"),
]
