from django.urls import path

from salestrace.customers import views

app_name = "customers"

urlpatterns = [
    path("customers/", views.customer_list_page, name="list"),
    path("customers/<int:customer_id>/", views.customer_page, name="detail"),
    path("pool/", views.pool_page, name="pool"),
]
