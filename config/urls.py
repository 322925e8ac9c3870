from django.contrib import admin
from django.urls import include, path

from config.api import api
from salestrace.actions import views as action_views
from salestrace.customers import urls as customer_urls


def _superusers_only(request: object) -> bool:
    """The Django admin is for superusers (raw tables, the delivery log); everyone who configures the
    product does it in 设置 (/settings/), through the services and their history."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_superuser)


admin.site.has_permission = _superusers_only  # type: ignore[method-assign]

# The "customers" pages: the list and the customer page show a customer with its actions, so their
# views live in the actions app (above customers); the pool page is the customers app's own.
customer_pages = [
    path("customers/", action_views.customer_list_page, name="list"),
    path("customers/<int:customer_id>/", action_views.customer_page, name="detail"),
    *customer_urls.urlpatterns,
]

urlpatterns = [
    path("", include("salestrace.actions.urls")),
    path("", include((customer_pages, "customers"))),
    path("", include("salestrace.org.urls")),
    path("", include("salestrace.todos.urls")),
    path("", include("salestrace.analytics.urls")),
    path("", include("salestrace.catalog.urls")),
    path("", include("salestrace.notify.urls")),
    path("", include("salestrace.imports.urls")),
    path("field/", include("salestrace.field.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
