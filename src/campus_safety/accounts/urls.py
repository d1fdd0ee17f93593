from django.contrib.auth import views as auth_views
from django.urls import path

from campus_safety.accounts import views

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("2fa/verify/", views.two_factor_verify, name="two_factor_verify"),
    path("2fa/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("2fa/recovery/", views.two_factor_recovery, name="two_factor_recovery"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.revoke, name="token_revoke"),
    path("roles/", views.role_table, name="role_table"),
]
