from django.urls import path

from kopilka.accounts.views import auth, settings

app_name = "accounts"

urlpatterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("signup/", auth.signup, name="signup"),
    path("signup/verify/", auth.signup_verify, name="signup_verify"),
    path("signup/company/", auth.onboarding, name="onboarding"),
    path("password/reset/", auth.password_reset, name="password_reset"),
    path("password/reset/sent/", auth.password_reset_done, name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", auth.password_reset_confirm, name="password_reset_confirm"),
    path("password/reset/complete/", auth.password_reset_complete, name="password_reset_complete"),
    path("invite/<str:token>/", auth.invitation, name="invitation"),
    path("switch/", auth.switch_business, name="switch_business"),
    path("settings/profile/", settings.profile, name="profile"),
    path("settings/users/", settings.members, name="members"),
    path("settings/users/invite/", settings.invite, name="invite"),
    path("settings/users/<id:member_id>/", settings.member_edit, name="member_edit"),
    path("settings/invitations/<id:invitation_id>/revoke/", settings.invitation_revoke, name="invitation_revoke"),
    path("settings/roles/", settings.roles, name="roles"),
    path("settings/roles/new/", settings.role_edit, name="role_create"),
    path("settings/roles/<id:role_id>/", settings.role_edit, name="role_edit"),
    path("settings/roles/<id:role_id>/delete/", settings.role_delete, name="role_delete"),
    path("settings/security/", settings.security, name="security"),
    path("points-of-sale/", settings.pos_list, name="pos_list"),
    path("points-of-sale/new/", settings.pos_edit, name="pos_create"),
    path("points-of-sale/<id:pos_id>/", settings.pos_edit, name="pos_edit"),
]
