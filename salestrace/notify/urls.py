"""设置 · Webhooks."""

from django.urls import path

from salestrace.notify import views

app_name = "notify"

urlpatterns = [
    path("settings/webhooks/", views.webhooks_page, name="webhooks"),
    path("settings/webhooks/<int:endpoint_id>/", views.webhook_page, name="webhook"),
]
