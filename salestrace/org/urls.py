"""Sign in and out, and the person's API tokens; the language switch is Django's `set_language` at /i18n/setlang/."""

from django.contrib.auth.views import LoginView, LogoutView
from django.urls import path

from salestrace.org import views

app_name = "org"

urlpatterns = [
    path(
        "login/",
        LoginView.as_view(template_name="org/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("account/tokens/", views.tokens_page, name="tokens"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke_page, name="token_revoke"),
]
