from django.urls import path

from campus_safety.gate import views

app_name = "gate"
urlpatterns = [
    path("", views.home, name="home"),
    path("visits/", views.visits, name="visits"),
    path("visits/<int:pk>/badge/", views.badge, name="badge"),
    path("visits/<int:pk>/photo/", views.visit_photo, name="photo"),
    path("invite/", views.invite, name="invite"),
    path("pickup/", views.release, name="release"),
    path("pickups/", views.pickups, name="pickups"),
    path("guardian/", views.guardian, name="guardian"),
    path("stats/", views.stats, name="stats"),
    path("watchlist/", views.watchlist, name="watchlist"),
    path("watchlist/<int:pk>/reveal/", views.reveal_entry, name="reveal_entry"),
]
