"""Presets: how another system's files become the SalesTrace format. Pure (tables in, tables out).

A preset gives header aliases per kind (a column mapping) and, where one source row is not one
SalesTrace row, a transform of the whole table. `maven-crm` is the public CRM sample dataset
(Maven Analytics: sales_teams, products, accounts, sales_pipeline).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from salestrace.imports.compute import Table, normalize_key, normalize_text, parse_money
from salestrace.imports.rules import FORMAT

# Chinese headers as Chinese spreadsheets write them, for the SalesTrace format's columns.
CHINESE_HEADERS: dict[str, dict[str, str]] = {
    "teams": {"用户名": "username", "姓名": "display_name", "角色": "role", "团队": "team", "上级团队": "parent_team"},
    "products": {"产品": "name", "产品名称": "name", "系列": "series", "价格": "list_price", "单价": "list_price"},
    "customers": {
        "客户编号": "external_id", "客户名称": "name", "门店名称": "name", "公司名称": "name", "客户类型": "kind",
        "负责人": "owner", "业务员": "owner", "客户经理": "owner", "团队": "team", "区域": "region",
        "城市": "city", "行业": "industry", "电话": "phones", "联系电话": "phones", "手机": "phones",
        "地址": "address", "统一社会信用代码": "credit_code", "信用代码": "credit_code", "联系人": "contacts",
    },
    "deals": {
        "商机编号": "external_id", "客户编号": "customer_external_id", "负责人": "owner", "商机名称": "title",
        "产品": "product", "金额": "amount", "成交金额": "amount", "币种": "currency", "开始日期": "engaged_on",
        "预计成交日期": "expected_close", "阶段": "stage", "结果": "outcome", "成交日期": "closed_on",
        "关闭日期": "closed_on", "输单原因": "lost_reason",
    },
    "actions": {
        "动作编号": "external_id", "客户编号": "customer_external_id", "商机编号": "deal_external_id",
        "销售": "rep", "跟进时间": "occurred_at", "发生时间": "occurred_at", "录入时间": "logged_at",
        "接触方式": "contact_method", "阶段": "stage", "客户阶段": "stage", "关键动作": "key_action",
        "障碍": "obstacle", "下一步计划": "next_step_plan", "下一步日期": "next_step_date",
        "交付物": "next_step_deliverable", "客户情绪": "emotion", "摘要": "summary", "渠道": "channel",
        "内容类型": "content_type", "回应强度": "response_strength",
    },
    "routes": {
        "业务员": "rep", "销售": "rep", "日期": "day", "拜访日期": "day", "门店编号": "customer_external_id",
        "客户编号": "customer_external_id", "门店编码": "customer_external_id", "顺序": "position", "序号": "position",
    },
    "redemptions": {
        "流水号": "external_id", "单号": "external_id", "活动": "promotion", "活动名称": "promotion",
        "门店编号": "store_external_id", "门店编码": "store_external_id", "日期": "day", "核销日期": "day",
        "小票数": "receipts", "核销笔数": "receipts", "优惠金额": "discount", "折扣金额": "discount",
    },
    "members": {"手机号": "phone", "手机": "phone", "会员等级": "level", "等级": "level", "姓名": "name", "会员姓名": "name"},
    "stock": {
        "门店编号": "store_external_id", "门店编码": "store_external_id", "商品": "product", "商品名称": "product",
        "库存": "quantity", "库存数量": "quantity", "盘点时间": "as_of", "更新时间": "as_of",
    },
}  # fmt: skip


def column_labels(kind: str) -> dict[str, str]:
    """{column: its first Chinese header} for `kind`: how the wizard names a column to a Chinese user."""
    labels: dict[str, str] = {}
    for header, column in CHINESE_HEADERS.get(kind, {}).items():
        labels.setdefault(column, header)
    return labels


@dataclass(frozen=True)
class Context:
    """What a transform may need beyond its own file: today's local date, the options of the job."""

    today: date
    options: Mapping[str, Any] = field(default_factory=dict)


Transform = Callable[[Table, Context], Table]


@dataclass(frozen=True)
class Preset:
    code: str
    aliases: dict[str, dict[str, str]]
    transforms: dict[str, Transform] = field(default_factory=dict)
    # Whose external ids these are (ExternalRef.source).
    source: str = "salestrace"


def username_for(name: str) -> str:
    """A sign-in name from a person's name: "Moses Frase" -> "moses.frase"."""
    return re.sub(r"[^a-z0-9]+", ".", normalize_text(name).lower()).strip(".")[:150]


def _table(kind: str, rows: list[dict[str, str]], encoding: str) -> Table:
    headers = tuple(c.name for c in FORMAT[kind])
    return Table(headers=headers, rows=tuple(tuple(r.get(h, "") for h in headers) for r in rows), encoding=encoding)


def _records(table: Table) -> list[dict[str, str]]:
    keyed = {h: normalize_key(h) for h in table.headers}
    return [{keyed[h]: v for h, v in record.items()} for _n, record in table.records()]


def maven_team_name(manager: str) -> str:
    return f"{normalize_text(manager)} team"


def maven_teams(table: Table, context: Context) -> Table:
    """sales_teams.csv: each agent a rep in their manager's team, the team under its regional
    office; each manager the supervisor of their team (after the agents, so row numbers match)."""
    rows: list[dict[str, str]] = []
    managers: dict[str, str] = {}
    for r in _records(table):
        agent, manager, office = r.get("salesagent", ""), r.get("manager", ""), r.get("regionaloffice", "")
        team = maven_team_name(manager) if manager else ""
        rows.append({
            "username": username_for(agent), "display_name": agent, "role": "rep", "team": team,
            "parent_team": office if manager else "",
        })  # fmt: skip
        if manager:
            managers.setdefault(manager, office)
    for manager, office in managers.items():
        rows.append({
            "username": username_for(manager), "display_name": manager, "role": "supervisor",
            "team": maven_team_name(manager), "parent_team": office,
        })  # fmt: skip
    return _table("teams", rows, table.encoding)


def maven_products(table: Table, context: Context) -> Table:
    """products.csv: name, series and list price (US dollars)."""
    rows = [
        {
            "name": r.get("product", ""),
            "series": r.get("series", ""),
            "list_price": r.get("salesprice", ""),
            "currency": "USD",
        }
        for r in _records(table)
    ]
    return _table("products", rows, table.encoding)


# The dataset's own misspellings, as a person confirming aliases would resolve them.
MAVEN_SECTORS = {"technolgy": "technology"}
NO_ACCOUNT = "no-account:"


def maven_account_owners(pipeline: Table) -> dict[str, str]:
    """{account: username of the agent with most opportunities on it (ties: by name)}; accounts.csv
    names no owner, and an account is seen by its owner's team."""
    counts: dict[str, Counter[str]] = {}
    for r in _records(pipeline):
        if account := normalize_text(r.get("account", "")):
            counts.setdefault(account, Counter())[username_for(r.get("salesagent", ""))] += 1
    return {a: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for a, c in counts.items()}


def maven_placeholder_owners(pipeline: Table) -> list[str]:
    """Agents with opportunities that name no account: each gets one placeholder customer for them."""
    found = {username_for(r.get("salesagent", "")) for r in _records(pipeline) if not r.get("account")}
    return sorted(found)


def maven_customers(table: Table, context: Context) -> Table:
    """accounts.csv: an account per row (its name is its id), owned as `account_owners` in the
    job's options say (else `default_owner`); then a placeholder customer per agent whose
    opportunities name no account (`placeholder_owners`)."""
    owners: Mapping[str, str] = context.options.get("account_owners", {})
    default = str(context.options.get("default_owner", ""))
    rows: list[dict[str, str]] = []
    for r in _records(table):
        name = normalize_text(r.get("account", ""))
        sector = normalize_text(r.get("sector", "")).lower()
        rows.append({
            "external_id": name, "name": name, "kind": "account", "owner": owners.get(name, default),
            "region": r.get("officelocation", ""), "industry": MAVEN_SECTORS.get(sector, sector),
        })  # fmt: skip
    for username in context.options.get("placeholder_owners", []):
        rows.append({
            "external_id": NO_ACCOUNT + username, "name": f"(no account) {username}", "kind": "account",
            "owner": username,
        })  # fmt: skip
    return _table("customers", rows, table.encoding)


MAVEN_STAGES = {"prospecting": "lead", "engaging": "needs_confirmed", "won": "won", "lost": "lost"}


def maven_deals(table: Table, context: Context) -> Table:
    """sales_pipeline.csv: an opportunity per row, under its account (or its agent's placeholder).

    Prospecting -> lead, Engaging -> needs_confirmed (open); Won and Lost close on close_date with
    close_value as amount; an open deal is valued at its product's list price (`product_prices`:
    {name: price}, names matched loosely, so "GTXPro" is "GTX Pro"). Prospecting opportunities
    have no engage date: they count as engaged today (the day of the import)."""
    prices: Mapping[str, str] = context.options.get("product_prices", {})
    canonical = {normalize_key(name): (name, price) for name, price in prices.items()}
    rows: list[dict[str, str]] = []
    for r in _records(table):
        agent = username_for(r.get("salesagent", ""))
        account = normalize_text(r.get("account", ""))
        raw_stage = normalize_key(r.get("dealstage", ""))
        stage = MAVEN_STAGES.get(raw_stage, r.get("dealstage", ""))
        product, price = canonical.get(normalize_key(r.get("product", "")), (r.get("product", ""), ""))
        outcome = stage if stage in {"won", "lost"} else "open"
        amount = r.get("closevalue", "") if outcome != "open" else price
        rows.append({
            "external_id": r.get("opportunityid", ""),
            "customer_external_id": account or NO_ACCOUNT + agent,
            "owner": agent,
            "title": f"{product} · {account or '-'} ({r.get('opportunityid', '')})",
            "product": product,
            "amount": amount,
            "currency": "USD",
            "engaged_on": r.get("engagedate", "") or (context.today.isoformat() if raw_stage == "prospecting" else ""),
            "stage": stage,
            "outcome": outcome,
            "closed_on": r.get("closedate", ""),
        })  # fmt: skip
    return _table("deals", rows, table.encoding)


def maven_prices(products: Table) -> dict[str, str]:
    """{product name: list price as text} of products.csv (for `maven_deals`)."""
    prices: dict[str, str] = {}
    for r in _records(products):
        if (amount := parse_money(r.get("salesprice", ""))) is not None:
            prices[normalize_text(r.get("product", ""))] = str(amount)
    return prices


# --- Salesforce and HubSpot exports (Account/Company and Opportunity/Deal reports) --------------------

# Their default sales stages, by name or API value, to the stage codes every SalesTrace template has.
CRM_STAGES = {
    # Salesforce
    "prospecting": "lead", "qualification": "needs_confirmed", "needsanalysis": "needs_confirmed",
    "valueproposition": "solution_compare", "iddecisionmakers": "solution_compare",
    "perceptionanalysis": "solution_compare", "proposalpricequote": "price_negotiation",
    "negotiationreview": "price_negotiation", "closedwon": "won", "closedlost": "lost",
    # HubSpot (labels and internal values)
    "appointmentscheduled": "lead", "qualifiedtobuy": "needs_confirmed",
    "presentationscheduled": "solution_compare", "decisionmakerboughtin": "price_negotiation",
    "contractsent": "contract_signing",
}  # fmt: skip
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T].*)?")


def crm_date(value: str) -> str:
    """A US export's date (12/31/2026, with or without a time) as 2026-12-31; other forms as they are
    (the importer reads ISO dates, and refuses what it cannot know)."""
    text = normalize_text(value)
    if match := _US_DATE.fullmatch(text):
        month, day, year = (int(g) for g in match.groups())
        return f"{year:04d}-{month:02d}-{day:02d}"
    return text.split(" ")[0].split("T")[0] if re.match(r"\d{4}-\d{2}-\d{2}", text) else text


def _bare(text: str) -> str:
    """A header or stage name with only its letters and digits ("Proposal/Price Quote" -> proposalpricequote)."""
    return re.sub(r"[^a-z0-9]", "", normalize_key(text))


def _crm_records(table: Table) -> list[dict[str, str]]:
    keyed = {h: _bare(h) for h in table.headers}
    return [{keyed[h]: v for h, v in record.items()} for _n, record in table.records()]


def _first(record: Mapping[str, str], *keys: str) -> str:
    return next((record[k] for k in keys if record.get(k)), "")


def crm_customers(table: Table, context: Context) -> Table:
    """A Salesforce Account or HubSpot Company export: an account per row; its owner's name becomes
    the sign-in name it was imported under ("Jane Doe" -> jane.doe)."""
    rows = []
    for r in _crm_records(table):
        rows.append({
            "external_id": _first(r, "accountid", "recordid", "companyid"),
            "name": normalize_text(_first(r, "accountname", "companyname", "name")),
            "kind": "account",
            "owner": username_for(_first(r, "accountowner", "companyowner", "owner")),
            "region": _first(r, "billingstateprovince", "stateregion", "state"),
            "city": _first(r, "billingcity", "city"),
            "industry": _first(r, "industry"),
        })  # fmt: skip
    return _table("customers", rows, table.encoding)


def crm_deals(table: Table, context: Context) -> Table:
    """A Salesforce Opportunity or HubSpot Deal export: a deal per row under its account. The stage
    names map to SalesTrace's (Closed Won / closedwon -> won …); a stage outside the defaults is
    kept as written, for the importer to refuse by row or map."""
    rows = []
    for r in _crm_records(table):
        raw_stage = _first(r, "stage", "dealstage")
        stage = CRM_STAGES.get(_bare(raw_stage), raw_stage)
        outcome = stage if stage in {"won", "lost"} else "open"
        close = crm_date(_first(r, "closedate"))
        rows.append({
            "external_id": _first(r, "opportunityid", "recordid", "dealid"),
            "customer_external_id": _first(
                r, "accountid", "associatedcompanyidprimary", "associatedcompanyids", "companyid"
            ).split(";")[0].strip(),
            "owner": username_for(_first(r, "opportunityowner", "dealowner", "owner")),
            "title": normalize_text(_first(r, "opportunityname", "dealname")),
            "amount": _first(r, "amount"),
            "currency": _first(r, "opportunitycurrency", "currency"),
            "engaged_on": crm_date(_first(r, "createddate", "createdate")) or context.today.isoformat(),
            "expected_close": close if outcome == "open" else "",
            "stage": stage,
            "outcome": outcome,
            "closed_on": close if outcome != "open" else "",
        })  # fmt: skip
    return _table("deals", rows, table.encoding)


# Activity types (Salesforce Task Subtype / Type, HubSpot Activity type) to contact methods.
CRM_CONTACT_METHODS = {
    "call": "phone", "phonecall": "phone", "email": "email", "listemail": "email", "meeting": "visit",
    "event": "visit", "visit": "visit", "wechat": "wechat",
}  # fmt: skip
_US_DATETIME = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?")


def crm_datetime(value: str) -> str:
    """A US export's date and time (12/31/2026 2:30 PM, or 24-hour) as 2026-12-31 14:30:00; a date
    alone as `crm_date` gives it; ISO as it is."""
    text = normalize_text(value)
    if match := _US_DATETIME.fullmatch(text):
        month, day, year, hour, minute = (int(g) for g in match.groups()[:5])
        second = int(match.group(6) or 0)
        half = (match.group(7) or "").lower()
        if half == "pm" and hour < 12:
            hour += 12
        elif half == "am" and hour == 12:
            hour = 0
        return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
    if re.match(r"\d{4}-\d{2}-\d{2}[ T]\d", text):
        return text.replace("T", " ").removesuffix("Z").split(".")[0].split("+")[0]
    return crm_date(text)


def crm_actions(table: Table, context: Context) -> Table:
    """A Salesforce Task/Activity or HubSpot activity export: an action per row, under its account
    (and opportunity/deal when it names one), by the person it was assigned to. Calls are phone
    calls, meetings and events visits, e-mails e-mails; other types (a note, a to-do) are kept as
    written, for the importer to refuse by row. The subject and the comments become the summary; an
    activity names no stage, so it takes its deal's or customer's stage as it stands."""
    rows = []
    for r in _crm_records(table):
        kind = _bare(_first(r, "tasksubtype", "type", "activitytype", "engagementtype"))
        subject = normalize_text(_first(r, "subject", "activitytitle", "title"))
        body = _first(r, "fullcomments", "comments", "description", "body", "callnotes", "notes", "emailbody")
        summary = "\n".join(part for part in (subject, body.strip()) if part)[:5000]
        occurred = crm_datetime(
            _first(r, "activitydate", "date", "duedate", "activitydatetime", "createddate", "createdate")
        )
        created = crm_datetime(_first(r, "createddate", "createdate"))
        rows.append({
            "external_id": _first(r, "activityid", "taskid", "eventid", "recordid", "engagementid"),
            "customer_external_id": _first(
                r, "accountid", "associatedcompanyids", "associatedcompanyid", "companyid"
            ).split(";")[0].strip(),
            "deal_external_id": _first(
                r, "opportunityid", "associateddealids", "associateddealid", "dealid"
            ).split(";")[0].strip(),
            "rep": username_for(_first(r, "assigned", "assignedto", "activityassignedto", "owner", "createdby")),
            "occurred_at": occurred,
            "logged_at": created if created and created >= occurred else "",
            "contact_method": CRM_CONTACT_METHODS.get(kind, kind),
            "stage": "",
            "summary": summary,
        })  # fmt: skip
    return _table("actions", rows, table.encoding)


def _crm_preset(code: str) -> Preset:
    return Preset(
        code,
        {kind: {c.name: c.name for c in FORMAT[kind]} for kind in FORMAT},
        transforms={"customers": crm_customers, "deals": crm_deals, "actions": crm_actions},
        source=code,
    )


PRESETS: dict[str, Preset] = {
    "salestrace": Preset("salestrace", CHINESE_HEADERS),
    "maven-crm": Preset(
        "maven-crm",
        {kind: {c.name: c.name for c in FORMAT[kind]} for kind in FORMAT},
        transforms={
            "teams": maven_teams,
            "products": maven_products,
            "customers": maven_customers,
            "deals": maven_deals,
        },
        source="maven-crm",
    ),
    "salesforce": _crm_preset("salesforce"),
    "hubspot": _crm_preset("hubspot"),
}

# The files of a maven-crm folder, in the order they are imported.
MAVEN_FILES = (
    ("teams", "sales_teams.csv"),
    ("products", "products.csv"),
    ("customers", "accounts.csv"),
    ("deals", "sales_pipeline.csv"),
)
