from django.urls import path

from salestrace.actions import offline_views, rule_views, views

app_name = "actions"

urlpatterns = [
    path("", views.today_page, name="today"),
    path("sw.js", offline_views.service_worker, name="service_worker"),
    path("offline/", offline_views.offline_page, name="offline"),
    path("customers/<int:customer_id>/actions/new/", views.action_new_page, name="new"),
    path("actions/<int:action_id>/summary/", views.action_summary_page, name="summary"),
    path("evidence/<int:evidence_id>/retry/", views.evidence_retry_page, name="evidence_retry"),
    path("settings/rules/", rule_views.rules_page, name="rules"),
    path("settings/rules/new/", rule_views.rule_new_page, name="rule_new"),
    path("settings/rules/preview/", rule_views.rule_preview, name="rule_preview"),
    path("settings/rules/<slug:code>/", rule_views.rule_edit_page, name="rule_edit"),
]
