"""Sign in and out; the language switch is Django's `set_language` at /i18n/setlang/."""

from django.contrib.auth.views import LoginView, LogoutView
from django.urls import path

app_name = "org"

urlpatterns = [
    path(
        "login/",
        LoginView.as_view(template_name="org/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", LogoutView.as_view(), name="logout"),
]
