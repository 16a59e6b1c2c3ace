from django.urls import path

from kopilka.loyalty import views

app_name = "loyalty"

urlpatterns = [
    # Тип механики
    path("loyalty/mechanics/", views.mechanic_list, name="mechanic_list"),
    path("loyalty/mechanics/new/", views.mechanic_edit, name="mechanic_create"),
    path("loyalty/mechanics/<id:mechanic_id>/", views.mechanic_edit, name="mechanic_edit"),
    # Лояльность
    path("loyalty/", views.template_list, name="template_list"),
    path("loyalty/templates/new/", views.template_edit, name="template_create"),
    path("loyalty/templates/<id:template_id>/", views.template_edit, name="template_edit"),
    path("loyalty/products/", views.product_list, name="product_list"),
    path("loyalty/products/import/", views.product_import, name="product_import"),
    path("loyalty/coupons/", views.coupon_group_list, name="coupon_group_list"),
    path("loyalty/coupons/new/", views.coupon_group_edit, name="coupon_group_create"),
    path("loyalty/coupons/<id:group_id>/", views.coupon_group_detail, name="coupon_group_detail"),
    path("loyalty/coupons/<id:group_id>/edit/", views.coupon_group_edit, name="coupon_group_edit"),
    path("loyalty/coupons/<id:group_id>/generate/", views.coupon_generate, name="coupon_generate"),
    path("loyalty/coupons/<id:group_id>/codes.csv", views.coupon_export, name="coupon_export"),
    path("loyalty/certificates/", views.certificate_list, name="certificate_list"),
    # Клиенты
    path("clients/", views.client_list, name="client_list"),
    path("clients/new/", views.card_create, name="card_create"),
    path("clients/<id:customer_id>/", views.client_detail, name="client_detail"),
    path("clients/cards/<id:card_id>/balance/", views.card_balance, name="card_balance"),
    path("clients/cards/<id:card_id>/level/", views.card_level, name="card_level"),
    # История → Транзакции
    path("history/transactions/", views.transaction_list, name="transaction_list"),
    path("history/transactions/export.csv", views.transaction_export, name="transaction_export"),
]
