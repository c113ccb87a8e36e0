"""Organisation settings: the AU organisation document, chart of accounts and GST tax rates.

Ids are derived (uuid5) from the tenant id and the code, so an organisation built twice from the
same tenant id is identical. Tax rates are keyed by ``TaxType``; their ``EffectiveRate`` is the
percentage used in line tax calculations.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from xsync.sandbox import xjson
from xsync.sandbox.store import Store

_CLASS_BY_TYPE = {
    **dict.fromkeys(("BANK", "CURRENT", "FIXED", "INVENTORY", "NONCURRENT", "PREPAYMENT"), "ASSET"),
    **dict.fromkeys(("CURRLIAB", "LIABILITY", "TERMLIAB", "PAYG"), "LIABILITY"),
    "EQUITY": "EQUITY",
    **dict.fromkeys(("EXPENSE", "OVERHEADS", "DIRECTCOSTS", "DEPRECIATN"), "EXPENSE"),
    **dict.fromkeys(("REVENUE", "SALES", "OTHERINCOME"), "REVENUE"),
}

# (code, name, type, tax type, system account, enable payments)
AU_ACCOUNTS: tuple[tuple[str, str, str, str, str, bool], ...] = (
    ("090", "Business Bank Account", "BANK", "BASEXCLUDED", "", False),
    ("091", "Business Savings Account", "BANK", "BASEXCLUDED", "", False),
    ("200", "Sales", "REVENUE", "OUTPUT", "", False),
    ("260", "Other Revenue", "REVENUE", "OUTPUT", "", False),
    ("270", "Interest Income", "REVENUE", "INPUTTAXED", "", False),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "INPUT", "", False),
    ("400", "Advertising", "EXPENSE", "INPUT", "", False),
    ("404", "Bank Fees", "EXPENSE", "EXEMPTEXPENSES", "", False),
    ("408", "Cleaning", "EXPENSE", "INPUT", "", False),
    ("412", "Consulting & Accounting", "EXPENSE", "INPUT", "", False),
    ("416", "Depreciation", "DEPRECIATN", "BASEXCLUDED", "", False),
    ("420", "Entertainment", "EXPENSE", "BASEXCLUDED", "", False),
    ("425", "Freight & Courier", "EXPENSE", "INPUT", "", False),
    ("429", "General Expenses", "EXPENSE", "INPUT", "", False),
    ("433", "Insurance", "EXPENSE", "INPUT", "", False),
    ("437", "Interest Expense", "EXPENSE", "EXEMPTEXPENSES", "", False),
    ("441", "Legal expenses", "EXPENSE", "INPUT", "", False),
    ("445", "Light, Power, Heating", "EXPENSE", "INPUT", "", False),
    ("449", "Motor Vehicle Expenses", "EXPENSE", "INPUT", "", False),
    ("453", "Office Expenses", "EXPENSE", "INPUT", "", False),
    ("461", "Printing & Stationery", "EXPENSE", "INPUT", "", False),
    ("469", "Rent", "EXPENSE", "INPUT", "", False),
    ("473", "Repairs and Maintenance", "EXPENSE", "INPUT", "", False),
    ("485", "Subscriptions", "EXPENSE", "INPUT", "", False),
    ("489", "Telephone & Internet", "EXPENSE", "INPUT", "", False),
    ("493", "Travel - National", "EXPENSE", "INPUT", "", False),
    ("494", "Travel - International", "EXPENSE", "EXEMPTEXPENSES", "", False),
    ("610", "Accounts Receivable", "CURRENT", "BASEXCLUDED", "DEBTORS", False),
    ("620", "Prepayments", "CURRENT", "BASEXCLUDED", "", True),
    ("630", "Inventory", "INVENTORY", "BASEXCLUDED", "", False),
    ("710", "Office Equipment", "FIXED", "CAPEXINPUT", "", False),
    ("711", "Less Accumulated Depreciation on Office Equipment", "FIXED", "BASEXCLUDED", "", False),
    ("720", "Computer Equipment", "FIXED", "CAPEXINPUT", "", False),
    ("800", "Accounts Payable", "CURRLIAB", "BASEXCLUDED", "CREDITORS", False),
    ("820", "GST", "CURRLIAB", "BASEXCLUDED", "GST", False),
    ("825", "PAYG Withholdings Payable", "CURRLIAB", "BASEXCLUDED", "", False),
    ("840", "Historical Adjustment", "CURRLIAB", "BASEXCLUDED", "HISTORICAL", False),
    ("860", "Rounding", "CURRLIAB", "BASEXCLUDED", "ROUNDING", False),
    ("877", "Tracking Transfers", "CURRLIAB", "BASEXCLUDED", "TRACKINGTRANSFERS", False),
    ("880", "Owner A Drawings", "EQUITY", "BASEXCLUDED", "", False),
    ("960", "Retained Earnings", "EQUITY", "BASEXCLUDED", "RETAINEDEARNINGS", False),
    ("970", "Owner A Funds Introduced", "EQUITY", "BASEXCLUDED", "", False),
)

# (tax type, name, rate %, report tax type, applies to (assets, equity, expenses, liab, revenue))
AU_TAX_RATES: tuple[tuple[str, str, str, str, tuple[bool, bool, bool, bool, bool]], ...] = (
    ("OUTPUT", "GST on Income", "10", "OUTPUT", (True, True, False, True, True)),
    ("INPUT", "GST on Expenses", "10", "INPUT", (True, True, True, True, False)),
    ("CAPEXINPUT", "GST on Capital", "10", "CAPITALEXINPUT", (True, True, True, True, False)),
    ("EXEMPTOUTPUT", "GST Free Income", "0", "EXEMPTOUTPUT", (True, True, False, True, True)),
    ("EXEMPTEXPENSES", "GST Free Expenses", "0", "EXEMPTEXPENSES", (True, True, True, True, False)),
    ("EXEMPTCAPITAL", "GST Free Capital", "0", "EXEMPTCAPITAL", (True, True, True, True, False)),
    ("EXEMPTEXPORT", "GST Free Exports", "0", "EXEMPTEXPORT", (True, True, False, True, True)),
    ("INPUTTAXED", "Input Taxed", "0", "INPUTTAXED", (True, True, True, True, True)),
    ("BASEXCLUDED", "BAS Excluded", "0", "BASEXCLUDED", (True, True, True, True, True)),
    ("GSTONIMPORTS", "GST on Imports", "0", "GSTONIMPORTS", (True, True, True, True, False)),
    (
        "GSTONCAPIMPORTS",
        "GST on Capital Imports",
        "0",
        "GSTONCAPIMPORTS",
        (True, True, True, True, False),
    ),
)


def derived_id(tenant_id: str, label: str) -> str:
    return str(uuid.uuid5(uuid.UUID(tenant_id), label))


def account_doc(
    tenant_id: str, row: tuple[str, str, str, str, str, bool], updated_ms: int
) -> dict[str, Any]:
    code, name, typ, tax_type, system, payments = row
    doc: dict[str, Any] = {
        "AccountID": derived_id(tenant_id, f"account:{code}"),
        "Code": code,
        "Name": name,
        "Status": "ACTIVE",
        "Type": typ,
        "TaxType": tax_type,
        "Class": _CLASS_BY_TYPE[typ],
        "EnablePaymentsToAccount": payments,
        "ShowInExpenseClaims": typ in ("EXPENSE", "OVERHEADS"),
        "ReportingCode": "",
        "HasAttachments": False,
        "UpdatedDateUTC": xjson.ms_timestamp(updated_ms),
        "AddToWatchlist": False,
    }
    if system:
        doc["SystemAccount"] = system
    if typ == "BANK":
        doc["BankAccountNumber"] = "062000" + code.zfill(8)
        doc["BankAccountType"] = "BANK"
        doc["CurrencyCode"] = "AUD"
    return doc


def tax_rate_doc(
    row: tuple[str, str, str, str, tuple[bool, bool, bool, bool, bool]],
) -> dict[str, Any]:
    tax_type, name, rate, report, applies = row
    pct = Decimal(rate).quantize(xjson.FOUR)
    return {
        "Name": name,
        "TaxType": tax_type,
        "ReportTaxType": report,
        "CanApplyToAssets": applies[0],
        "CanApplyToEquity": applies[1],
        "CanApplyToExpenses": applies[2],
        "CanApplyToLiabilities": applies[3],
        "CanApplyToRevenue": applies[4],
        "DisplayTaxRate": pct,
        "EffectiveRate": pct,
        "Status": "ACTIVE",
        "TaxComponents": [
            {"Name": "GST", "Rate": pct, "IsCompound": False, "IsNonRecoverable": False}
        ],
    }


def organisation_doc(
    tenant_id: str, name: str, created_ms: int, *, demo: bool, short_code: str
) -> dict[str, Any]:
    return {
        "OrganisationID": derived_id(tenant_id, "organisation"),
        "APIKey": "",
        "Name": name,
        "LegalName": f"{name} Pty Ltd" if not name.endswith("Ltd") else name,
        "PaysTax": True,
        "Version": "AU",
        "OrganisationType": "COMPANY",
        "BaseCurrency": "AUD",
        "CountryCode": "AU",
        "IsDemoCompany": demo,
        "OrganisationStatus": "ACTIVE",
        "RegistrationNumber": "",
        "TaxNumber": "53004085616",
        "FinancialYearEndDay": 30,
        "FinancialYearEndMonth": 6,
        "SalesTaxBasis": "ACCRUALS",
        "SalesTaxPeriod": "QUARTERLY1",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": xjson.ms_timestamp(created_ms),
        "OrganisationEntityType": "COMPANY",
        "Timezone": "AUSEASTERNSTANDARDTIME",
        "ShortCode": short_code,
        "Edition": "BUSINESS",
        "Class": "PREMIUM",
        "LineOfBusiness": "Professional services",
        "Addresses": [
            {
                "AddressType": "STREET",
                "AddressLine1": "23 Main Street",
                "City": "Sydney",
                "Region": "NSW",
                "PostalCode": "2000",
                "Country": "Australia",
            }
        ],
        "Phones": [{"PhoneType": "OFFICE", "PhoneNumber": "9555 0100", "PhoneAreaCode": "02"}],
        "ExternalLinks": [],
        "PaymentTerms": {
            "Bills": {"Day": 30, "Type": "DAYSAFTERBILLDATE"},
            "Sales": {"Day": 30, "Type": "DAYSAFTERBILLDATE"},
        },
    }


def install_settings(store: Store, tenant_id: str, updated_ms: int) -> None:
    """Write the AU chart of accounts and tax rates for a new organisation."""
    for row in AU_ACCOUNTS:
        store.put("accounts", tenant_id, account_doc(tenant_id, row, updated_ms), updated_ms)
    for rate in AU_TAX_RATES:
        store.put("taxrates", tenant_id, tax_rate_doc(rate), updated_ms)


def accounts_by_code(store: Store, tenant_id: str) -> dict[str, dict[str, Any]]:
    return {a["Code"]: a for a in store.find("accounts", tenant_id, "1", ())}


def tax_rates(store: Store, tenant_id: str) -> dict[str, dict[str, Any]]:
    return {t["TaxType"]: t for t in store.find("taxrates", tenant_id, "1", ())}
