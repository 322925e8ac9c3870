from django.urls import path

from salestrace.todos import calendar_views, channel_views, feed_views, pack_views, settings_views, views

app_name = "todos"

urlpatterns = [
    path("tasks/", views.my_tasks_page, name="my_tasks"),
    path("account/calendar/", feed_views.feed_page, name="calendar_feed"),
    path("calendar/<str:token>.ics", feed_views.feed_ics, name="calendar_feed_ics"),
    path("tasks/<int:task_id>/status/", views.task_status_action, name="status"),
    path("settings/calendar/", calendar_views.calendar_page, name="calendar"),
    path("settings/templates/", pack_views.packs_page, name="packs"),
    path("settings/templates/export.yaml", pack_views.pack_export, name="pack_export"),
    path("settings/channels/", channel_views.channels_page, name="channels"),
    path("settings/channels/<int:team_id>/", channel_views.channel_page, name="channel"),
    path("settings/follow-ups/", settings_views.follow_ups_page, name="follow_ups"),
    path("settings/follow-ups/new/", settings_views.follow_up_new_page, name="follow_up_new"),
    path("settings/follow-ups/preview/", settings_views.follow_up_preview, name="follow_up_preview"),
    path("settings/follow-ups/<slug:code>/", settings_views.follow_up_edit_page, name="follow_up_edit"),
]
