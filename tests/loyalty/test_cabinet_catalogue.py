"""Лояльность: product CSV import (all-or-nothing, with a validation report), coupon groups and codes,
gift certificates."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kopilka.core.models import AuditEntry
from kopilka.loyalty import setup_services
from kopilka.loyalty.models import Coupon, CouponGroup, GiftCertificate, Product, ProductCategory
from tests.conftest import owner_of

pytestmark = pytest.mark.django_db
D = Decimal

GOOD = "sku,name,category,price,barcode\nA-1,Капучино,Кофе,189.00,4600000000011\nA-2,Круассан,Выпечка,\"120,50\",\n"


def _upload(client, text: str | bytes):  # type: ignore[no-untyped-def]
    content = text.encode() if isinstance(text, str) else text
    return client.post(reverse("loyalty:product_import"), {"file": SimpleUploadedFile("p.csv", content, "text/csv")})


def test_a_good_file_creates_products_and_categories(business, owner_client) -> None:  # type: ignore[no-untyped-def]
    response = _upload(owner_client, "\ufeff" + GOOD)

    assert response.status_code == 200
    report = response.context["report"]
    assert (report.written, report.created, report.updated, report.errors) == (True, 2, 0, [])
    products = {p.sku: p for p in Product.objects.filter(business=business)}
    assert products["A-1"].price == D("189.00")
    assert products["A-1"].barcode == "4600000000011"
    assert products["A-2"].price == D("120.50")
    assert products["A-2"].category.name == "Выпечка"
    assert set(ProductCategory.objects.filter(business=business).values_list("name", flat=True)) == {"Кофе", "Выпечка"}
    assert AuditEntry.objects.get(business=business, action="products.imported").after == {"created": 2, "updated": 0}


def test_a_second_import_updates_by_sku(business) -> None:  # type: ignore[no-untyped-def]
    owner = owner_of(business)
    setup_services.import_products(business=business, content=GOOD, actor=owner)
    report = setup_services.import_products(
        business=business, content="sku;name;category;price\nA-1;Капучино большой;Кофе;219\n".encode("cp1251"), actor=owner
    )
    assert (report.created, report.updated) == (0, 1)
    assert Product.objects.get(business=business, sku="A-1").price == D("219.00")


def test_one_bad_row_rejects_the_whole_file_and_the_report_names_rows_and_fields(business, owner_client) -> None:  # type: ignore[no-untyped-def]
    text = (
        "sku,name,category,price\n"
        "B-1,Чай,Напитки,90\n"      # line 2: good
        ",Без артикула,Напитки,10\n"  # line 3: no sku
        "B-3,Сок,Напитки,-5\n"      # line 4: negative price
        "B-1,Дубль,Напитки,1.999\n"  # line 5: same sku as line 2 and 3 decimals
    )  # fmt: skip
    response = _upload(owner_client, text)

    report = response.context["report"]
    assert report.written is False
    assert [(e.row, e.field) for e in report.errors] == [(3, "sku"), (4, "price"), (5, "sku"), (5, "price")]
    assert "line 2" in report.errors[2].message
    assert [r["sku"] for r in report.accepted] == ["B-1"]
    assert not Product.objects.filter(business=business).exists()
    assert not ProductCategory.objects.filter(business=business).exists()
    body = response.content.decode()
    assert 'data-testid="import-errors"' in body


@pytest.mark.parametrize(
    "content",
    [b"", b"name,price\nX,1\n", b"\xff\xfe\x00\x00garbage", b"sku,name,category,price\n", b"sku,name,category,price\n\"A,B\n"],
)
def test_malformed_files_write_nothing(business, owner_client, content) -> None:  # type: ignore[no-untyped-def]
    response = _upload(owner_client, content)
    assert response.status_code == 200
    report = response.context["report"]
    assert report is None or report.written is False
    assert not Product.objects.filter(business=business).exists()


def test_coupon_group_generates_n_unique_codes_and_exports_them(business, owner_client) -> None:  # type: ignore[no-untyped-def]
    created = owner_client.post(reverse("loyalty:coupon_group_create"), {
        "name": "Весна", "reward": "percent", "value": "15", "prefix": "spring", "is_active": "on",
        "valid_from": "2026-03-01", "valid_until": "2026-03-31",
    })  # fmt: skip
    group = CouponGroup.objects.get(business=business)
    assert created.status_code == 302
    assert group.prefix == "SPRING"

    generated = owner_client.post(reverse("loyalty:coupon_generate", args=[group.pk]), {"count": "250"})

    assert generated.status_code == 302
    codes = list(Coupon.objects.filter(group=group).values_list("code", flat=True))
    assert len(codes) == 250 == len(set(codes))
    assert all(code.startswith("SPRING-") for code in codes)
    export = owner_client.get(reverse("loyalty:coupon_export", args=[group.pk]))
    text = b"".join(export.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 251
    assert {r[0] for r in rows[1:]} == set(codes)
    page = owner_client.get(reverse("loyalty:coupon_group_detail", args=[group.pk]))
    assert page.status_code == 200
    assert codes[0] in page.content.decode()


def test_bad_coupon_input_writes_nothing(business, owner_client) -> None:  # type: ignore[no-untyped-def]
    bad = owner_client.post(reverse("loyalty:coupon_group_create"), {"name": "X", "reward": "percent", "value": "150"})
    assert bad.status_code == 200
    assert "value" in bad.context["form"].errors
    group = CouponGroup.objects.create(business=business, name="G", reward="fixed", value=D("100"))
    for count in ("0", "10001", "abc"):
        response = owner_client.post(reverse("loyalty:coupon_generate", args=[group.pk]), {"count": count})
        assert response.status_code == 422
    assert not Coupon.objects.filter(group=group).exists()


def test_gift_certificate_is_created_with_a_code(business, owner_client) -> None:  # type: ignore[no-untyped-def]
    response = owner_client.post(reverse("loyalty:certificate_list"), {"amount": "3000", "expires_on": "2027-01-31"})
    bad = owner_client.post(reverse("loyalty:certificate_list"), {"amount": "-1"})

    assert response.status_code == 302
    assert bad.status_code == 200
    certificate = GiftCertificate.objects.get(business=business)
    assert (certificate.initial_amount, certificate.balance) == (D("3000.00"), D("3000.00"))
    assert certificate.code.startswith("GC-")
    assert AuditEntry.objects.filter(business=business, action="certificate.created").count() == 1
    assert certificate.code in owner_client.get(reverse("loyalty:certificate_list")).content.decode()
