from django.urls import path

from salestrace.customers import new_views, people_views, views

# Included by config/urls.py under the "customers" namespace, beside the customer list and page
# (which show actions too, so their views live in salestrace.actions).
urlpatterns = [
    path("pool/", views.pool_page, name="pool"),
    path("customers/new/", new_views.new_customer_page, name="new"),
    path("customers/new/duplicates/", new_views.duplicates_partial, name="duplicates"),
    path("customers/<int:customer_id>/merge/", new_views.merge_page, name="merge"),
    path("settings/people/", people_views.people_page, name="people"),
    path("settings/people/<int:user_id>/", people_views.person_page, name="person"),
    path("settings/teams/<int:team_id>/", people_views.team_page, name="team"),
]
