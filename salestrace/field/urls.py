from django.urls import path

from salestrace.field import promotion_views, views

app_name = "field"

urlpatterns = [
    path("", views.route_page, name="route"),
    path("check-in/<int:customer_id>/", views.check_in_page, name="check_in"),
    path("check-out/<int:check_in_id>/", views.check_out_page, name="check_out"),
    path("plans/", views.plans_page, name="plans"),
    path("compliance/", views.compliance_page, name="compliance"),
    path("card/", promotion_views.card_page, name="card"),
    path("card/member/", promotion_views.member_lookup, name="member"),
    path("promotions/", promotion_views.promotions_page, name="promotions"),
    path("promotions/<int:promotion_id>/", promotion_views.promotion_page, name="promotion"),
    path("promotions/<int:promotion_id>/redeem/", promotion_views.redeem_page, name="redeem"),
    path("promotions/<int:promotion_id>/report/", promotion_views.report_page, name="report"),
]
