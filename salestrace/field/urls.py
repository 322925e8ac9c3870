from django.urls import path

from salestrace.field import views

app_name = "field"

urlpatterns = [
    path("", views.route_page, name="route"),
    path("check-in/<int:customer_id>/", views.check_in_page, name="check_in"),
    path("check-out/<int:check_in_id>/", views.check_out_page, name="check_out"),
    path("plans/", views.plans_page, name="plans"),
    path("compliance/", views.compliance_page, name="compliance"),
]
