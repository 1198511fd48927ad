"""Entity-specific Splynx rules: cross-record checks, side effects of writes, and delete guards.

Why separate from splynx_validation: those rules are per field and generic; these know the business:
a service's tariff must be offered to the customer's partner, a static IPv4 must lie inside an existing
network, a customer brings its customer-info and customer-billing records with it, a finance transaction
moves its customer's balance (`deposit`), and nothing that is still referenced may be deleted.

Delete guards (our choice, modelled on Splynx's refusals): deleting a record that others still use is
answered 400 with internal_code ENTITY_CANNOT_BE_DELETED and a message naming what uses it:
partner (customers, administrators, tariffs of any kind; partner 1 never), location (customers, IPv4 networks),
administrator 1 (never), tariff (the services of its kind; a bundle tariff: its bundle services), customer
(any service, bundle services included, inventory items, or finance transactions), IPv4 network (used IPs,
services taking a pool from it), vendor (products), product (items), transaction category (one of Splynx's
default ones never; else transactions, tariffs). A bundle service that internet, voice or recurring services
still name in `bundle_service_id` is refused with a 422 on `id` instead (a stricter guess, docs/fidelity.md).
Payments (our guesses where Splynx's behaviour is not captured): a customer with payments goes neither; a payment
method while payments use it; the credit transaction a payment booked only with its payment (400 naming it).
Customer comments (a guess, as for payments): a customer with comments is refused too, so a rollback must delete
the comments first rather than have them vanish with the customer.
Invoices (guesses, as for payments): a customer with invoices goes neither; a transaction naming an existing invoice
in `invoice_id` only with (or through) its invoice (400 naming it).
Tickets (guesses, as for payments): a customer with tickets (or ticket messages) goes neither; a ticket goes with
its messages. Ticket statuses, groups and types are read only (no DELETE at all).

A payment books a credit transaction, as Splynx's payments appear among a customer's transactions (the live
billing_transactions.payment_id and payments.transaction_id columns): it follows the payment's edits and goes
with it, so the customer's `deposit`, summed from transactions, counts the payment exactly once. An invoice with
use_transactions 1 books one debit transaction per item in the same way (book_invoice): they follow
its items, customer and date, and go with it, so the deposit drops by the invoice's total exactly once.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from etl.sandbox.splynx_schema import (
    ALL_ENTITIES,
    BILLING_TRANSACTIONS,
    CUSTOMER_BILLING,
    CUSTOMER_INFO,
    CUSTOMER_SERVICES,
    INVOICE_UNPAID,
    IPV4_IPS,
    PLAN_USES,
    SERVICES,
    TARIFFS,
    TICKET_MESSAGES,
)
from etl.sandbox.splynx_store import SplynxStore
from etl.sandbox.splynx_validation import Invalid, Problems, blank, default_for, taken

# An endnet at least this small gets one ipv4-ip record per address when created.
MATERIALIZE_MIN_MASK = 16


class CannotDelete(Exception):
    """The record is still in use; answered 400 ENTITY_CANNOT_BE_DELETED."""


def _uses(store: SplynxStore, entity: str, field: str, value: Any) -> int:
    return store.count(entity, f"json_extract(data, '$.{field}') = ?", [value])


def _list_uses(store: SplynxStore, entity: str, field: str, value: Any) -> int:
    return store.count(entity, f"EXISTS (SELECT 1 FROM json_each(data, '$.{field}') WHERE value = ?)", [value])


# -- checks before a write ------------------------------------------------------------------------


def check(entity_key: str, record: dict[str, Any], store: SplynxStore, problems: Problems,
          creating: bool, body: dict[str, Any]) -> None:
    """Run the entity's cross-record rules on the merged record."""
    rule = _CHECKS.get(entity_key)
    if rule is not None:
        rule(record, store, problems, creating, body)


def _check_admin(record: dict[str, Any], store: SplynxStore, problems: Problems, creating: bool,
                 body: dict[str, Any]) -> None:
    if creating and blank(body.get("password")):
        problems.add("password", "Password cannot be blank.")


def _check_tariff(record: dict[str, Any], store: SplynxStore, problems: Problems, creating: bool,
                  body: dict[str, Any]) -> None:
    """APIB: "If not set will be get from title" (service_name; one-time's service_description: a guess)."""
    name = "service_description" if "service_description" in record else "service_name"
    if blank(record.get(name)):
        record[name] = record.get("title")


def _check_network(record: dict[str, Any], store: SplynxStore, problems: Problems, creating: bool,
                   body: dict[str, Any]) -> None:
    if problems.has("network") or problems.has("mask") or blank(record.get("network")):
        return
    mask = record.get("mask")
    if not isinstance(mask, int) or not 0 <= mask <= 32:
        problems.add("mask", "Mask must be between 0 and 32.")
        return
    try:
        ipaddress.IPv4Network(f"{record['network']}/{mask}", strict=True)
    except ValueError:
        problems.add("network", f"Network {record['network']}/{mask} is not a network address for this mask.")
        return
    where = "json_extract(data, '$.network') = ? AND json_extract(data, '$.mask') = ? AND id != ?"
    if store.count("ipv4_networks", where, [record["network"], mask, record.get("id") or 0]):
        problems.add("network", f'Network "{record["network"]}/{mask}" has already been taken.')


def _check_network6(record: dict[str, Any], store: SplynxStore, problems: Problems, creating: bool,
                    body: dict[str, Any]) -> None:
    """An IPv6 network: a network address for its prefix, once (as IPv4 networks; the messages are guesses)."""
    if problems.has("network") or problems.has("prefix") or blank(record.get("network")):
        return
    prefix = record.get("prefix")
    if not isinstance(prefix, int) or not 0 <= prefix <= 128:
        problems.add("prefix", "Prefix must be between 0 and 128.")
        return
    try:
        ipaddress.IPv6Network(f"{record['network']}/{prefix}", strict=True)
    except ValueError:
        problems.add("network", f"Network {record['network']}/{prefix} is not an IPv6 network address for this prefix.")
        return
    where = "json_extract(data, '$.network') = ? AND json_extract(data, '$.prefix') = ? AND id != ?"
    if store.count("ipv6_networks", where, [record["network"], prefix, record.get("id") or 0]):
        problems.add("network", f'Network "{record["network"]}/{prefix}" has already been taken.')


def _check_ip(record: dict[str, Any], store: SplynxStore, problems: Problems, creating: bool,
              body: dict[str, Any]) -> None:
    network = store.get("ipv4_networks", record.get("ipv4_networks_id") or 0)
    if network is None or problems.has("ip"):
        return
    if ipaddress.IPv4Address(record["ip"]) not in _net(network):
        problems.add("ip", f"IP {record['ip']} is outside network {network['network']}/{network['mask']}.")


PLAN_OF: dict[str, tuple[str, str]] = {service: (plan, fld) for plan, (service, fld) in PLAN_USES.items()}
"""Service kind -> (the tariff kind it bills on, the field naming the tariff): tariff_id, or a bundle's bundle_id."""


def _check_plan(service_key: str, record: dict[str, Any], store: SplynxStore,
                problems: Problems) -> dict[str, Any] | None:
    """Rules every service kind shares: its customer exists and its tariff is offered to the customer's partner.

    That the tariff is of the service's own kind is tariff_id's reference (check_references): each kind has
    its own tariff table and id sequence, as in Splynx. An omitted unit price takes the tariff's. A service
    inside a bundle names a bundle service of its own customer.

    Returns:
        The customer, or None when it does not exist.
    """
    customer = store.get("customers", record.get("customer_id") or 0)
    if customer is None:
        problems.add("customer_id", f"Customer is invalid: Customer {record.get('customer_id')} not found.")
        return None
    plan_key, plan_field = PLAN_OF[service_key]
    tariff = store.get(plan_key, record.get(plan_field) or 0)
    if tariff is not None and customer["partner_id"] not in tariff["partners_ids"]:
        problems.add(plan_field, f"Tariff {tariff['id']} is not available for partner {customer['partner_id']}.")
    if tariff is not None and blank(record.get("unit_price")):
        record["unit_price"] = tariff["price"]
    _check_bundle_membership(record, store, problems)
    return customer


def _check_bundle_membership(record: dict[str, Any], store: SplynxStore, problems: Problems) -> None:
    """A non-zero `bundle_service_id` must be a bundle service of the same customer (0 = in no bundle).

    Why the same customer: a bundle bills one customer; another customer's bundle would move the charge
    to someone else's invoice (the rule is a guess: the blueprint only says "ID of bundle service").
    """
    bundle_service_id = record.get("bundle_service_id")
    if not bundle_service_id or problems.has("bundle_service_id"):
        return
    bundle = store.get("bundle_services", bundle_service_id)
    if bundle is None or bundle["customer_id"] != record.get("customer_id"):
        problems.add("bundle_service_id", f"Bundle service is invalid: Bundle service {bundle_service_id} "
                                          f"not found for customer {record.get('customer_id')}.")


def _check_bundle_service(record: dict[str, Any], store: SplynxStore, problems: Problems, creating: bool,
                          body: dict[str, Any]) -> None:
    _check_plan("bundle_services", record, store, problems)


def _check_recurring_service(record: dict[str, Any], store: SplynxStore, problems: Problems, creating: bool,
                             body: dict[str, Any]) -> None:
    _check_plan("recurring_services", record, store, problems)


def _check_voice_service(record: dict[str, Any], store: SplynxStore, problems: Problems, creating: bool,
                         body: dict[str, Any]) -> None:
    """A number rings at one place: no two active voice services share a phone (the rule is a guess)."""
    if _check_plan("voice_services", record, store, problems) is None or problems.has("phone"):
        return
    if record.get("status") != "active" or blank(record.get("phone")):
        return
    where = "json_extract(data, '$.phone') = ? AND json_extract(data, '$.status') = 'active' AND id != ?"
    if store.count("voice_services", where, [record["phone"], record.get("id") or 0]):
        problems.add("phone", f'Phone number "{record["phone"]}" is already used by another active service.')


def _check_service(record: dict[str, Any], store: SplynxStore, problems: Problems, creating: bool,
                   body: dict[str, Any]) -> None:
    customer = _check_plan("internet_services", record, store, problems)
    if customer is None:
        return
    if blank(record.get("login")) and not problems.has("login"):
        record["login"] = _free_service_login(store, str(customer["login"]), record.get("id"))
    _check_service_ipv4(record, store, problems)


def _free_service_login(store: SplynxStore, base: str, own_id: int | None) -> str:
    """Splynx proposes the customer login, then login-2, login-3, ... for further services."""
    candidate, n = base, 1
    while taken(store, "internet_services", "login", candidate, own_id):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _net(network: dict[str, Any]) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(f"{network['network']}/{network['mask']}")


def find_network(store: SplynxStore, ip: str) -> dict[str, Any] | None:
    """The most specific endnet that contains `ip`, or None."""
    address = ipaddress.IPv4Address(ip)
    candidates = [n for n in store.select("ipv4_networks", "json_extract(data, '$.network_type') = 'endnet'")
                  if address in _net(n)]
    return max(candidates, key=lambda n: n["mask"], default=None)


def _check_service_ipv4(record: dict[str, Any], store: SplynxStore, problems: Problems) -> None:
    taking = record.get("taking_ipv4")
    if taking == 2 and record.get("ipv4_pool_id") and not problems.has("ipv4_pool_id"):
        pool = store.get("ipv4_networks", record["ipv4_pool_id"])
        if pool is not None and pool["type_of_usage"] != "pool":
            problems.add("ipv4_pool_id", f"IPv4 network {pool['id']} is not a pool.")
    if taking != 1 or problems.has("ipv4"):
        return
    ip = record.get("ipv4")
    if blank(ip):
        problems.add("ipv4", "IPv4 cannot be blank.")
        return
    network = find_network(store, str(ip))
    if network is None:
        problems.add("ipv4", f"IPv4 {ip} does not belong to any IPv4 network.")
        return
    net = _net(network)
    edge = ipaddress.IPv4Address(ip) in (net.network_address, net.broadcast_address)
    if edge and net.prefixlen < 31 and not network["allow_use_network_and_broadcast"]:
        problems.add("ipv4", f"IPv4 {ip} is the network or broadcast address of {net}.")
        return
    where = "json_extract(data, '$.ipv4') = ? AND json_extract(data, '$.taking_ipv4') = 1 AND id != ?"
    if store.count("internet_services", where, [ip, record.get("id") or 0]):
        problems.add("ipv4", f'IPv4 "{ip}" is already used by another service.')


def _check_transaction(record: dict[str, Any], store: SplynxStore, problems: Problems, creating: bool,
                       body: dict[str, Any]) -> None:
    """Compute `total`, which the blueprint's *Transaction Response* adds and a write cannot set.

    Why price * quantity * (1 + tax %): the live table keeps price and tax_percent beside total, and Splynx
    prices are net of tax elsewhere (tariffs' `with_vat`); the formula itself is a guess (docs/fidelity.md).
    """
    if any(problems.has(name) for name in ("price", "quantity", "tax_percent")) or blank(record.get("tax_percent")):
        return
    record["total"] = transaction_total(str(record["price"]), int(record["quantity"]), str(record["tax_percent"]))


def transaction_total(price: str, quantity: int, tax_percent: str) -> str:
    """Price * quantity * (1 + tax_percent / 100), to 4 decimals as the live decimal(19,4) column holds it."""
    total = Decimal(price) * quantity * (1 + Decimal(tax_percent) / 100)
    return f"{total.quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP):.4f}"


def _check_invoice(record: dict[str, Any], store: SplynxStore, problems: Problems, creating: bool,
                   body: dict[str, Any]) -> None:
    """Check the items' transaction categories, then compute `total` and `due` and default `date_till`.

    Why the total is the sum of each item's rounded transaction total: the items book exactly those transactions,
    so the deposit drops by exactly the invoice's total (a Splynx that rounds only the sum may differ by 0.0001).
    A category problem names the item by its position in the invoice (for a create: in the body).
    """
    if blank(record.get("date_till")) and not problems.has("date_created"):
        record["date_till"] = record.get("date_created")
    if problems.has("items") or not isinstance(record.get("items"), list):
        return
    for position, item in enumerate(record["items"], start=1):
        category = item.get("categoryIdForTransaction")
        if category and store.get("transaction_categories", category) is None:
            problems.add("items", f"Item {position}: Transaction category is invalid: "
                                  f"Transaction category {category} not found.")
    total = sum((Decimal(_item_total(item)) for item in record["items"]), Decimal(0))
    record["total"] = f"{total:.4f}"
    record["due"] = record["total"] if record.get("status") in INVOICE_UNPAID else "0.0000"


def _item_total(item: dict[str, Any]) -> str:
    """What an invoice item's debit transaction totals: price * quantity * (1 + tax / 100)."""
    return transaction_total(str(item["price"]), int(item["quantity"]), str(item["tax"]))


def _check_category(record: dict[str, Any], store: SplynxStore, problems: Problems, creating: bool,
                    body: dict[str, Any]) -> None:
    """Splynx's default categories "cannot be edited or deleted" (its documentation; the message is a guess)."""
    if not creating and record.get("is_base"):
        problems.add("name", f"Transaction category {record['id']} is a default category and cannot be edited.")


def _check_note(record: dict[str, Any], store: SplynxStore, problems: Problems, creating: bool,
                body: dict[str, Any]) -> None:
    """A comment omitting `datetime` is dated now: the live column is NOT NULL without a default (a guess)."""
    if blank(record.get("datetime")) and not problems.has("datetime"):
        record["datetime"] = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def _check_ticket(record: dict[str, Any], store: SplynxStore, problems: Problems, creating: bool,
                  body: dict[str, Any]) -> None:
    """The inline first message (a create's `message`) gets the derived attributes a ticket message gets."""
    message = record.get("message")
    if isinstance(message, dict):
        _derive_message(message)


def _check_ticket_message(record: dict[str, Any], store: SplynxStore, problems: Problems, creating: bool,
                          body: dict[str, Any]) -> None:
    _derive_message(record)


def _derive_message(message: dict[str, Any]) -> None:
    """Fill a message's author_type when not given and compute its message_type (both guesses, docs/fidelity.md).

    author_type: admin when admin_id is set, else customer when customer_id is, else api (the write came over the
    API). message_type: "note" for an administrator's message hidden from the customer, else "message".
    """
    if blank(message.get("author_type")):
        message["author_type"] = "admin" if message.get("admin_id") else \
            "customer" if message.get("customer_id") else "api"
    note = message.get("hide_for_customer") == 1 and message["author_type"] == "admin"
    message["message_type"] = "note" if note else "message"


_CHECKS = {
    "administrators": _check_admin, "ipv4_networks": _check_network, "ipv6_networks": _check_network6,
    "ipv4_ips": _check_ip, "internet_services": _check_service, "recurring_services": _check_recurring_service,
    "voice_services": _check_voice_service, "bundle_services": _check_bundle_service,
    "billing_transactions": _check_transaction, "transaction_categories": _check_category,
    "customer_notes": _check_note, "invoices": _check_invoice, "tickets": _check_ticket,
    "ticket_messages": _check_ticket_message,
    **{t.key: _check_tariff for t in TARIFFS},
}


# -- side effects after a write -------------------------------------------------------------------


def after_create(entity_key: str, record: dict[str, Any], store: SplynxStore,
                 written: dict[str, Any] | None = None) -> None:
    """Create what Splynx creates alongside a record.

    `written` holds the create's write-only values (Field.write_only), validated but not stored on the record:
    a ticket's inline `message` becomes its first ticket message.
    """
    if entity_key == "customers":
        info = {f.name: default_for(f) for f in CUSTOMER_INFO.fields if f.writable}
        store.put("customer_info", record["id"], {**info, "id": record["id"], "updated_at": None})
        billing = {f.name: default_for(f) for f in CUSTOMER_BILLING.fields}
        store.put("customer_billing", record["id"], {**billing, "id": record["id"], "customer_id": record["id"]})
    elif entity_key == "ipv4_networks":
        _materialize_ips(record, store)
    elif entity_key == "billing_transactions":
        settle_deposit(record["customer_id"], store)
    elif entity_key == "payments":
        book_payment(record, store)
    elif entity_key == "invoices":
        book_invoice(record, store, ())
    elif entity_key == "tickets" and isinstance((written or {}).get("message"), dict):
        first = {"id": store.next_id(TICKET_MESSAGES.key), "ticket_id": record["id"], **(written or {})["message"]}
        store.put(TICKET_MESSAGES.key, first["id"], first)
    if entity_key == "internet_services":
        assign_ip(record, store)


def settle_deposit(customer_id: int, store: SplynxStore) -> None:
    """Store the customer's balance: the credit totals of its transactions minus their debit totals.

    Why recomputed from all of them on every transaction write, and stored: the customer-billing record is
    then what GET and `sim.rows()` both show, and a sum cannot drift the way a running counter would after
    an update that moves a transaction to another customer. Why credit minus debit: a debit is a charge and
    a credit a payment (Splynx documentation, Finance > Transactions), so a positive deposit is money the
    customer has in hand.
    """
    billing = store.get("customer_billing", customer_id)
    if billing is None:  # the customer is gone (its transactions went first: see guard_delete)
        return
    balance = Decimal(0)
    for row in store.select("billing_transactions", "json_extract(data, '$.customer_id') = ?", [customer_id]):
        balance += Decimal(row["total"]) if row["type"] == "credit" else -Decimal(row["total"])
    billing["deposit"] = f"{balance:.4f}"
    store.put("customer_billing", customer_id, billing)


PAYMENT_BOOKED = ("customer_id", "amount", "date", "receipt_number")
"""The payment attributes its credit transaction repeats: a change to any of them rewrites the transaction."""


def book_payment(payment: dict[str, Any], store: SplynxStore) -> None:
    """Write the payment's credit transaction (a new one on create, the same id on update) and settle the deposit.

    Why a full rewrite of the transaction: it is the payment's own record (source manual, quantity 1, no tax), so
    everything in it derives from the payment; a missing one (deleted from a file outside the API) is booked anew.
    """
    transaction = store.get("billing_transactions", payment.get("transaction_id") or 0) or _new_transaction(store)
    transaction.update(type="credit", customer_id=payment["customer_id"], quantity=1, price=payment["amount"],
                       tax_percent="0.0000", total=payment["amount"], date=payment["date"],
                       category=payment_category(store), description=f"Payment #{payment['receipt_number']}",
                       payment_id=payment["id"], source="manual")
    store.put("billing_transactions", transaction["id"], transaction)
    if payment.get("transaction_id") != transaction["id"]:
        payment["transaction_id"] = transaction["id"]
        store.put("payments", payment["id"], payment)
    settle_deposit(payment["customer_id"], store)


def _new_transaction(store: SplynxStore) -> dict[str, Any]:
    """A transaction with the next id and every default, for a payment to fill in."""
    defaults = {f.name: default_for(f) for f in BILLING_TRANSACTIONS.fields}
    return {**defaults, "id": store.next_id("billing_transactions"), "additional_attributes": {}}


def payment_category(store: SplynxStore) -> int:
    """Splynx's default "Payment" transaction category, or 1 where it is not seeded (a database without it)."""
    return _base_category(store, "Payment")


def service_category(store: SplynxStore) -> int:
    """Splynx's default "Service" transaction category (what an invoice item is booked on unless it names one)."""
    return _base_category(store, "Service")


def _base_category(store: SplynxStore, name: str) -> int:
    """The default transaction category called `name`, or 1 where it is not seeded (a database without it)."""
    found = store.select("transaction_categories", "json_extract(data, '$.name') = ? AND "
                                                   "json_extract(data, '$.is_base') = 1", [name])
    return int(found[0]["id"]) if found else 1


def book_invoice(invoice: dict[str, Any], store: SplynxStore, previous: list[dict[str, Any]] | tuple[()]) -> None:
    """Number new items, write one debit transaction per item (use_transactions 1), store, settle the deposit.

    Why each item keeps its transaction (`transaction_id`) and rewrites it in place: the transaction is the
    item's own record, so it follows every edit of the item or the invoice (customer, date) without changing id;
    the transactions of `previous` (the items before an update) that no item books any more are deleted, which is
    what turning use_transactions to 0 does. With 0 the invoice is a document only and moves no balance.
    """
    earlier = {int(item["transaction_id"]) for item in previous if item.get("transaction_id")}
    invoice["items"] = [dict(item) for item in invoice["items"]]
    for item in invoice["items"]:
        if item.get("id") is None:
            item["id"] = store.next_id("invoice_items")
        item["transaction_id"] = _book_item(invoice, item, store) if invoice["use_transactions"] else 0
    for stale in earlier - {item["transaction_id"] for item in invoice["items"]}:
        store.delete("billing_transactions", stale)
    store.put("invoices", invoice["id"], invoice)
    settle_deposit(invoice["customer_id"], store)


def _book_item(invoice: dict[str, Any], item: dict[str, Any], store: SplynxStore) -> int:
    """Write the item's debit transaction (the same id when it has one) and return its id."""
    transaction = store.get("billing_transactions", item.get("transaction_id") or 0) or _new_transaction(store)
    transaction.update(type="debit", customer_id=invoice["customer_id"], quantity=item["quantity"],
                       price=item["price"], tax_percent=item["tax"], total=_item_total(item),
                       date=invoice["date_created"], description=item["description"],
                       period_from=item["period_from"], period_to=item["period_to"],
                       category=item.get("categoryIdForTransaction") or service_category(store),
                       sub_account_id=item["sub_account_id"], invoice_id=invoice["id"], source="manual")
    store.put("billing_transactions", transaction["id"], transaction)
    return int(transaction["id"])


def _materialize_ips(network: dict[str, Any], store: SplynxStore) -> None:
    """An endnet lists one ipv4-ip record per address, as Splynx's IP list for the network shows."""
    net = _net(network)
    if network["network_type"] != "endnet" or net.prefixlen < MATERIALIZE_MIN_MASK:
        return
    defaults = {f.name: default_for(f) for f in IPV4_IPS.fields}
    ids = store.next_ids("ipv4_ips", net.num_addresses)
    store.put_many("ipv4_ips", [{**defaults, "id": ip_id, "ipv4_networks_id": network["id"], "ip": str(address),
                                 "location_id": network["location_id"], "additional_attributes": {}}
                                for ip_id, address in zip(ids, net, strict=True)])


def assign_ip(service: dict[str, Any], store: SplynxStore) -> None:
    """Mark a static service IP as used in its network's IP list."""
    if service.get("taking_ipv4") != 1 or blank(service.get("ipv4")):
        return
    for ip in store.select("ipv4_ips", "json_extract(data, '$.ip') = ?", [service["ipv4"]]):
        ip.update(is_used=1, customer_id=service["customer_id"], module="internet_services",
                  module_item_id=service["id"])
        store.put("ipv4_ips", ip["id"], ip)


def release_ip(service: dict[str, Any], store: SplynxStore) -> None:
    """Free the IP a deleted (or re-addressed) service held."""
    where = "json_extract(data, '$.module') = 'internet_services' AND json_extract(data, '$.module_item_id') = ?"
    for ip in store.select("ipv4_ips", where, [service["id"]]):
        ip.update(is_used=0, customer_id=0, module="", module_item_id=0)
        store.put("ipv4_ips", ip["id"], ip)


def after_update(entity_key: str, old: dict[str, Any], record: dict[str, Any], store: SplynxStore) -> None:
    """Keep the IP list in step with a service's address, and balances with their transactions."""
    if entity_key == "internet_services" and (old.get("ipv4"), old.get("taking_ipv4")) != (
            record.get("ipv4"), record.get("taking_ipv4")):
        release_ip(old, store)
        assign_ip(record, store)
    elif entity_key == "billing_transactions":
        for customer_id in {old["customer_id"], record["customer_id"]}:
            settle_deposit(customer_id, store)
    elif entity_key == "payments" and any(old.get(k) != record.get(k) for k in PAYMENT_BOOKED):
        book_payment(record, store)
        settle_deposit(old["customer_id"], store)
    elif entity_key == "invoices":  # every edit rewrites the items' transactions: cheap, and never stale
        book_invoice(record, store, old.get("items") or [])
        settle_deposit(old["customer_id"], store)


def after_delete(entity_key: str, record: dict[str, Any], store: SplynxStore) -> None:
    """Delete what belongs to the deleted record."""
    if entity_key == "customers":
        store.delete("customer_info", record["id"])
        store.delete("customer_billing", record["id"])
    elif entity_key == "ipv4_networks":
        for ip in store.select("ipv4_ips", "json_extract(data, '$.ipv4_networks_id') = ?", [record["id"]]):
            store.delete("ipv4_ips", ip["id"])
    elif entity_key == "internet_services":
        release_ip(record, store)
    elif entity_key == "billing_transactions":
        settle_deposit(record["customer_id"], store)
    elif entity_key == "payments":
        store.delete("billing_transactions", record.get("transaction_id") or 0)
        settle_deposit(record["customer_id"], store)
    elif entity_key == "invoices":
        for item in record.get("items") or []:
            store.delete("billing_transactions", item.get("transaction_id") or 0)
        settle_deposit(record["customer_id"], store)
    elif entity_key == "tickets":
        for message in store.select(TICKET_MESSAGES.key, "json_extract(data, '$.ticket_id') = ?", [record["id"]]):
            store.delete(TICKET_MESSAGES.key, message["id"])
    elif entity_key == "additional_fields":
        _drop_attribute(record["module"], record["name"], store)


def _drop_attribute(module: str, name: str, store: SplynxStore) -> None:
    """Deleting a definition drops its column in Splynx: the values go with it."""
    for entity in (e for e in ALL_ENTITIES if e.module == module):
        where = f"json_extract(data, '$.additional_attributes.{name}') IS NOT NULL"
        for record in store.select(entity.key, where):
            record["additional_attributes"].pop(name, None)
            store.put(entity.key, record["id"], record)


# -- delete guards --------------------------------------------------------------------------------


def guard_delete(entity_key: str, record_id: int, store: SplynxStore) -> None:
    """Raise CannotDelete when the record is still used, as Splynx refuses such deletes."""
    reasons: dict[str, Callable[[], str | None]] = {
        "partners": lambda: ("it is the main partner" if record_id == 1 else None)
        or _used(store, record_id, ("customers", "partner_id"), ("administrators", "partner_id"),
                 *((t.key, "partners_ids") for t in TARIFFS)),
        "locations": lambda: _used(store, record_id, ("customers", "location_id"),
                                   ("ipv4_networks", "location_id")),
        "administrators": lambda: "it is the main administrator" if record_id == 1 else None,
        "customers": lambda: _used(store, record_id, *((s.key, "customer_id") for s in CUSTOMER_SERVICES),
                                   ("items", "customer_id"), ("payments", "customer_id"), ("invoices", "customer_id"),
                                   ("billing_transactions", "customer_id"), ("customer_notes", "customer_id"),
                                   ("tickets", "customer_id"), ("ticket_messages", "customer_id")),
        "ipv4_networks": lambda: _network_in_use(store, record_id),
        "vendors": lambda: _used(store, record_id, ("products", "vendor_id")),
        "products": lambda: _used(store, record_id, ("items", "product_id")),
        "stocks": lambda: _used(store, record_id, ("items", "stock_id")),
        "transaction_categories": lambda: _category_in_use(store, record_id),
        "payment_methods": lambda: _used(store, record_id, ("payments", "payment_type")),
        "billing_transactions": lambda: _payment_of(store, record_id) or _invoice_of(store, record_id),
    }
    uses = PLAN_USES.get(entity_key)  # a tariff is in use while a service of its kind bills on it
    rule = reasons.get(entity_key)
    reason = _used(store, record_id, uses) if uses else rule() if rule else None
    if reason:
        raise CannotDelete(f"Entity cannot be deleted: {reason}")
    if entity_key == "bundle_services":
        _guard_bundle_service(record_id, store)


def _guard_bundle_service(record_id: int, store: SplynxStore) -> None:
    """Refuse (422 on `id`) deleting a bundle service that services still belong to.

    Why refuse rather than cascade: whether Splynx deletes, detaches or keeps the member services is not
    documented; refusing makes a client that deletes in the wrong order fail loudly (docs/fidelity.md).
    """
    reason = _used(store, record_id, *((s.key, "bundle_service_id") for s in SERVICES))
    if reason:
        raise Invalid([{"field": "id", "message": f"Bundle service {record_id} cannot be deleted: {reason}."}])


def _used(store: SplynxStore, record_id: int, *uses: tuple[str, str]) -> str | None:
    for entity, field in uses:
        n = (_list_uses if field.endswith("_ids") else _uses)(store, entity, field, record_id)
        if n:
            return f"used by {n} {entity.replace('_', ' ')} ({field})"
    return None


def _payment_of(store: SplynxStore, transaction_id: int) -> str | None:
    """A payment's credit transaction goes only with the payment (a guess): else the payment would outlive it."""
    found = store.select("payments", "json_extract(data, '$.transaction_id') = ?", [transaction_id])
    return f"it is the transaction of payment {found[0]['id']}; delete the payment instead" if found else None


def _invoice_of(store: SplynxStore, transaction_id: int) -> str | None:
    """A transaction naming an existing invoice goes only with (or through) it (a guess, as for payments).

    Why any transaction naming it, not only those its items booked: `invoice_id` says the transaction is part
    of the invoice, and deleting it alone would leave the invoice's total and the customer's balance apart.
    """
    transaction = store.get("billing_transactions", transaction_id)
    invoice_id = (transaction or {}).get("invoice_id")
    if not invoice_id or store.get("invoices", invoice_id) is None:
        return None
    return f"it is a transaction of invoice {invoice_id}; edit or delete the invoice instead"


def _network_in_use(store: SplynxStore, network_id: int) -> str | None:
    used = store.count("ipv4_ips", "json_extract(data, '$.ipv4_networks_id') = ? AND "
                                   "json_extract(data, '$.is_used') = 1", [network_id])
    if used:
        return f"{used} of its IPs are used"
    return _used(store, network_id, ("internet_services", "ipv4_pool_id"))


def _category_in_use(store: SplynxStore, category_id: int) -> str | None:
    """A default category never goes; another only while no transaction or tariff uses it (Splynx documentation)."""
    category = store.get("transaction_categories", category_id)
    if category is not None and category.get("is_base"):
        return "it is a default category"
    return _used(store, category_id, ("billing_transactions", "category"),
                 *((t.key, "transaction_category_id") for t in TARIFFS))
