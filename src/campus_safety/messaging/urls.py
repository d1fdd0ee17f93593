from django.urls import path

from campus_safety.messaging import views

app_name = "messaging"
urlpatterns = [
    path("", views.message_list, name="messages"),
]
