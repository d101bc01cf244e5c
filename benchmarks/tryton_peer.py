"""The embedded benchmark's peer, in a process of its own (trytond's configuration is
global): Tryton's ``sale_complaint`` module on in-memory SQLite, driven through ``proteus``
as its own scenario test does. Setup (not timed): activate the modules with a company and a
chart of accounts, a fiscal year, a customer, a product, one confirmed sale with its invoice
posted. Timed: complaints on that sale, each created with a ``sale_return`` action (the
refund-shaped outcome), then ``wait`` -> ``approve``, which processes the action (the return
sale is created) and leaves the complaint ``done``.

``python -m benchmarks.tryton_peer SECONDS OUT.json``"""

from __future__ import annotations

import json
import os
import sys
import time
from decimal import Decimal
from typing import Any


def main(seconds: float, out: str) -> None:
    os.environ.setdefault("TRYTOND_DATABASE__URI", "sqlite://")
    os.environ.setdefault("DB_NAME", ":memory:")
    started = time.perf_counter()
    from proteus import Model
    from trytond.modules.account.tests.tools import create_chart, create_fiscalyear, get_accounts
    from trytond.modules.account_invoice.tests.tools import (
        create_payment_term,
        set_fiscalyear_invoice_sequences,
    )
    from trytond.modules.company.tests.tools import create_company
    from trytond.tests.tools import activate_modules

    config = activate_modules("sale_complaint", create_company, create_chart)
    config.skip_warning = True  # "a similar complaint exists": every one is on the same sale
    fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear())
    fiscalyear.click("create_period")
    accounts = get_accounts()
    customer = Model.get("party.party")(name="Customer")
    customer.save()
    complaint_type = Model.get("sale.complaint.type")(name="Sale")
    (complaint_type.origin,) = Model.get("ir.model").find([("name", "=", "sale.sale")])
    complaint_type.save()
    category = Model.get("product.category")(name="Account Category")
    category.accounting = True
    category.account_expense = accounts["expense"]
    category.account_revenue = accounts["revenue"]
    category.save()
    (unit,) = Model.get("product.uom").find([("name", "=", "Unit")])
    template = Model.get("product.template")()
    template.name = "Desk lamp"
    template.default_uom = unit
    template.type = "goods"
    template.salable = True
    template.list_price = Decimal("40")
    template.account_category = category
    template.save()
    (product,) = template.products
    payment_term = create_payment_term()
    payment_term.save()
    sale = Model.get("sale.sale")()
    sale.party = customer
    sale.payment_term = payment_term
    sale.invoice_method = "order"
    line = sale.lines.new()
    line.product = product
    line.quantity = 1
    sale.click("quote")
    sale.click("confirm")
    (invoice,) = sale.invoices
    invoice.click("post")
    setup_seconds = time.perf_counter() - started

    Complaint = Model.get("sale.complaint")
    latencies: list[float] = []

    def lifecycle() -> None:
        complaint = Complaint()
        complaint.customer = customer
        complaint.type = complaint_type
        complaint.origin = sale
        action = complaint.actions.new()
        action.action = "sale_return"
        complaint.save()
        complaint.click("wait")
        complaint.click("approve")
        assert complaint.state == "done", complaint.state

    lifecycle()  # warm-up
    begin = time.perf_counter()
    while time.perf_counter() - begin < seconds:
        t0 = time.perf_counter()
        lifecycle()
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - begin
    result: dict[str, Any] = {
        "lifecycles": len(latencies),
        "seconds": round(elapsed, 3),
        "lifecycles_per_s": round(len(latencies) / elapsed, 2),
        "latencies_ms": latencies,
        "setup_seconds": round(setup_seconds, 1),
    }
    with open(out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main(float(sys.argv[1]), sys.argv[2])
