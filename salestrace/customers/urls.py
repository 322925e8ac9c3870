from django.urls import path

from salestrace.customers import views

# Included by config/urls.py under the "customers" namespace, beside the customer list and page
# (which show actions too, so their views live in salestrace.actions).
urlpatterns = [
    path("pool/", views.pool_page, name="pool"),
]
