from django.urls import path, register_converter

from kopilka.enrollment.views import cabinet, public


class TokenConverter:
    """A link token: URL-safe base64 characters only (a NUL or a slash never reaches the database)."""

    regex = "[A-Za-z0-9_-]{4,43}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TokenConverter, "tok")

app_name = "enrollment"

urlpatterns = [
    # Переменные
    path("variables/", cabinet.variable_list, name="variable_list"),
    path("variables/<id:variable_id>/", cabinet.variable_edit, name="variable_edit"),
    path("variables/<id:variable_id>/delete/", cabinet.variable_delete, name="variable_delete"),
    # Формы → Регистрация, links of templates
    path("forms/", cabinet.form_list, name="form_list"),
    path("forms/new/", cabinet.form_edit, name="form_create"),
    path("forms/preview/", cabinet.form_preview, name="form_preview"),
    path("forms/<id:form_id>/", cabinet.form_edit, name="form_edit"),
    path("forms/links/<id:template_id>/", cabinet.template_link, name="template_link"),
    path("forms/links/<id:template_id>/qr.png", cabinet.template_qr_png, name="template_qr_png"),
    path("forms/links/<id:template_id>/qr.svg", cabinet.template_qr_svg, name="template_qr_svg"),
    # Формы → Дизайн верификации, Дизайн отзывов
    path("forms/verification/", cabinet.verification_design_list, name="verification_design_list"),
    path("forms/verification/new/", cabinet.verification_design_edit, name="verification_design_create"),
    path("forms/verification/<id:design_id>/", cabinet.verification_design_edit, name="verification_design_edit"),
    path("forms/reviews/", cabinet.review_design_list, name="review_design_list"),
    path("forms/reviews/new/", cabinet.review_design_edit, name="review_design_create"),
    path("forms/reviews/<id:design_id>/", cabinet.review_design_edit, name="review_design_edit"),
    # UTM
    path("utm/", cabinet.utm_list, name="utm_list"),
    path("utm/<id:link_id>/delete/", cabinet.utm_delete, name="utm_delete"),
    path("utm/<id:link_id>/qr.png", cabinet.utm_qr_png, name="utm_qr_png"),
    path("utm/<id:link_id>/qr.svg", cabinet.utm_qr_svg, name="utm_qr_svg"),
    # Клиенты → Черный список, Удаленные карты, Поделиться
    path("clients/blacklist/", cabinet.blacklist, name="blacklist"),
    path("clients/blacklist/<id:entry_id>/delete/", cabinet.blacklist_remove, name="blacklist_remove"),
    path("clients/deleted/", cabinet.deleted_cards, name="deleted_cards"),
    path("clients/cards/<id:card_id>/delete/", cabinet.card_delete, name="card_delete"),
    path("clients/cards/<id:card_id>/restore/", cabinet.card_restore, name="card_restore"),
    path("clients/cards/<id:card_id>/share/", cabinet.card_share, name="card_share"),
    # Public: the journey, the card page, the customer's page
    path("j/<tok:template_token>/", public.journey, name="journey"),
    path("j/<tok:template_token>/code/", public.journey_code, name="journey_code"),
    path("j/<tok:template_token>/resend/", public.journey_resend, name="journey_resend"),
    path("u/<tok:utm_token>/", public.utm_entry, name="utm_entry"),
    path("c/<tok:card_token>/", public.card_page, name="card_page"),
    path("me/", public.me, name="me"),
    path("me/code/", public.me_code, name="me_code"),
    path("me/logout/", public.me_logout, name="me_logout"),
]
