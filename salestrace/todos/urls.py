from django.urls import path

from salestrace.todos import views

app_name = "todos"

urlpatterns = [
    path("tasks/", views.my_tasks_page, name="my_tasks"),
    path("tasks/<int:task_id>/status/", views.task_status_action, name="status"),
]
