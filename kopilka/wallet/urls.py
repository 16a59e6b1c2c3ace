from django.urls import path, re_path

from kopilka.wallet import views

app_name = "wallet"

DEVICE = r"(?P<device_id>[A-Za-z0-9]{1,128})"
PASS_TYPE = r"(?P<pass_type_id>[A-Za-z0-9._-]{1,255})"  # noqa: S105 - a URL pattern
SERIAL = r"(?P<serial_number>[A-Za-z0-9._-]{1,64})"

# Apple appends "v1/…" to webServiceURL ("…/wallet/"); "//v1" is tolerated (WALLET.md B).
urlpatterns = [
    re_path(
        rf"^wallet/+v1/devices/{DEVICE}/registrations/{PASS_TYPE}/{SERIAL}/?$", views.registration, name="registration"
    ),
    re_path(rf"^wallet/+v1/devices/{DEVICE}/registrations/{PASS_TYPE}/?$", views.serial_numbers, name="serials"),
    re_path(rf"^wallet/+v1/passes/{PASS_TYPE}/{SERIAL}/?$", views.latest_pass, name="latest_pass"),
    re_path(r"^wallet/+v1/log/?$", views.device_log, name="log"),
    re_path(r"^wallet/pass/(?P<pass_token>[A-Za-z0-9]{20,64})\.pkpass$", views.pass_download, name="pass_download"),
    path("settings/certificates/", views.certificates_page, name="certificates"),
    path("loyalty/templates/<int:template_id>/design/", views.template_design, name="template_design"),
]
