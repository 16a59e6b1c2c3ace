from django.urls import path

from kopilka.cashier import views

app_name = "cashier"

urlpatterns = [
    path("cashier/", views.page, name="page"),
    path("cashier/find/", views.find_card, name="find_card"),
    path("cashier/products/", views.products, name="products"),
    path("cashier/cards/<id:card_id>/", views.card_panel, name="card"),
    path("cashier/cards/<id:card_id>/quote/", views.quote, name="quote"),
    path("cashier/cards/<id:card_id>/confirm/", views.confirm, name="confirm"),
    path("cashier/cards/<id:card_id>/code/", views.resend_code, name="resend_code"),
    path("cashier/cards/<id:card_id>/verify/", views.verify, name="verify"),
    path("cashier/purchases/", views.purchases, name="purchases"),
    path("cashier/purchases/<id:purchase_id>/", views.purchase_detail, name="purchase"),
    path("cashier/purchases/<id:purchase_id>/refund/", views.refund, name="refund"),
    path("cashier/issue/", views.issue, name="issue"),
]
