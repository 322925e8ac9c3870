"""The data the analytics bench reads (issue 11): a B2B company of 1,000 reps in 100 teams,
200,000 customers, 300,000 deals with their stage history and 5,000,000 actions, written with
set-based SQL (one statement per table) on SQLite or PostgreSQL.

Deterministic: deal n is engaged (n·7919 mod 365) days before NOW; its outcome comes from a hash
of n, the reps of every tenth team winning more often (they are the top performers); won deals
went through every stage, lost and open ones stop at stage n mod 5. Its actions are spread
evenly over its life and over the stages it reached. The top teams' reps also close faster, and
in their deals the 2nd contact at 方案对比 shows a customer case six times in ten (the seed's
planted pattern); in the others about one time in ten, like any other key action.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
REPS = 1_000
TEAM_SIZE = 10
CUSTOMERS = 200_000
DEALS = 300_000
ACTIONS = 5_000_000
STAGES = ("lead", "needs_confirmed", "solution_compare", "price_negotiation", "contract_signing")
KEY_ACTIONS = (
    "send_brochure",
    "book_demo",
    "start_trial",
    "send_quote",
    "submit_custom_proposal",
    "executive_meeting",
    "competitor_comparison",
    "factory_tour",
    "tripartite_tech_meeting",
    "share_customer_case",
)
METHODS = ("visit", "phone", "wechat", "email")
RESPONSES = ("", "active_question", "confirm_details", "request_delay", "explicit_refusal")
# For action health (issue 12): two actions in five name an obstacle (complex_decision_chain most
# often at 方案对比), one in ten is logged 5 h late, and a few plans wait for a reply.
OBSTACLES = ("", "", "", "technical_doubt", "budget_shortage", "complex_decision_chain", "competitor_interference")
PLANS = ("跟进", "跟进", "跟进", "等待客户回复", "安排高层会谈", "提供分期付款方案")


def build(scale: float = 1.0) -> dict[str, int]:
    """Users, teams, customers, deals, stage history and actions; returns the row counts."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from salestrace.actions.models import ActionLog
    from salestrace.customers.models import Customer, Deal, StageHistory
    from salestrace.org.models import Role, Team, User

    reps = max(10, int(REPS * scale))
    customers = max(100, int(CUSTOMERS * scale))
    deals = max(150, int(DEALS * scale))
    per_deal_long = ACTIONS // DEALS + 1  # 17: the first `long_deals` deals get one action more
    long_deals = int(ACTIONS * scale) - deals * (per_deal_long - 1)
    password = make_password("bench-password")
    with transaction.atomic():
        company = Team.objects.create(name="公司", kind=Team.Kind.COMPANY)
        teams = Team.objects.bulk_create(
            [Team(name=f"团队{i}", kind=Team.Kind.TEAM, parent=company) for i in range(reps // TEAM_SIZE)]
        )
        users = User.objects.bulk_create(
            [
                User(username=f"rep{i:04d}", password=password, role=Role.REP, team=teams[i // TEAM_SIZE])
                for i in range(reps)
            ]
            + [
                User(username=f"sup{i:03d}", password=password, role=Role.SUPERVISOR, team=t)
                for i, t in enumerate(teams)
            ]
        )
        User.objects.create(username="director", password=password, role=Role.DIRECTOR, team=company)
    rep0 = users[0].pk
    assert [u.pk for u in users[:reps]] == list(range(rep0, rep0 + reps)), "rep ids are not contiguous"
    sqlite = connection.vendor == "sqlite"
    # Statements carry no parameters (so "%" is SQL's modulo): NOW as a literal of each database.
    now = f"'{NOW:%Y-%m-%d %H:%M:%S}'" if sqlite else f"'{NOW.isoformat()}'::timestamptz"
    today = NOW.date().isoformat()
    per_customer = customers // reps

    def seq(total: int) -> str:
        if sqlite:
            return f"WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < {total - 1}) "
        return f"WITH seq AS (SELECT n::bigint AS n FROM generate_series(0, {total - 1}) AS n) "

    def days_before_today(expr: str) -> str:
        if sqlite:
            return f"date('{today}', '-' || ({expr}) || ' days')"
        return f"('{today}'::date - ({expr})::int)"

    def plus_days(date_sql: str, expr: str) -> str:
        """A datetime at 10:00 UTC on `date_sql` plus `expr` days (may be fractional)."""
        if sqlite:
            return f"datetime({date_sql}, '+' || (({expr}) * 86400 + 36000) || ' seconds')"
        return f"({date_sql}::timestamp AT TIME ZONE 'UTC' + make_interval(secs => ({expr}) * 86400 + 36000))"

    def plus_days_date(date_sql: str, expr: str) -> str:
        if sqlite:
            return f"date({date_sql}, '+' || ({expr}) || ' days')"
        return f"({date_sql} + ({expr})::int)"

    def pick(options: tuple[str, ...], expr: str) -> str:
        whens = " ".join(f"WHEN {i} THEN '{code}'" for i, code in enumerate(options))
        return f"CASE ({expr}) % {len(options)} {whens} END"

    def stage_at(index_sql: str) -> str:
        whens = " ".join(f"WHEN {i} THEN '{code}'" for i, code in enumerate(STAGES))
        return f"CASE {index_sql} {whens} END"

    customer_t, deal_t = Customer._meta.db_table, Deal._meta.db_table
    history_t, action_t = StageHistory._meta.db_table, ActionLog._meta.db_table
    created = plus_days(days_before_today("400"), "0")
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            seq(customers) + f"INSERT INTO {customer_t} (kind, name, name_pinyin, name_initials, region, city, "
            "industry, owner_id, stage, status, last_active_at, assigned_at, pool_entered_at, from_pool, "
            "wakeup_for, created_at, updated_at) "
            f"SELECT 'account', '客户' || n, 'kehu' || n, 'kh' || n, '', '', '', {rep0} + n / {per_customer}, "
            f"'needs_confirmed', 'active', {now}, {created}, NULL, FALSE, NULL, {created}, {now} FROM seq"
        )
        first_customer = Customer.objects.order_by("pk").values_list("pk", flat=True).first()
        # A deal's facts from n: outcome (0 won, 1 lost, 2 open), furthest stage, life in days.
        hashed = "((n * 2654435761) % 100)"
        top_team = f"((({rep0} + (n % {customers}) / {per_customer}) - {rep0}) / {TEAM_SIZE}) % 10 = 0"
        outcome = (
            f"CASE WHEN {hashed} < 30 OR ({top_team} AND {hashed} < 50) THEN 0 WHEN {hashed} < 65 THEN 1 ELSE 2 END"
        )
        # Engaged 100–399 days ago; a closed deal lived 20–99 days, an open one is still going.
        engaged = days_before_today("100 + (n * 7919) % 300")
        today_sql = f"'{today}'" if sqlite else f"'{today}'::date"
        # Top teams close faster: 15–74 days against 20–99.
        cycle = f"(CASE WHEN {top_team} THEN 15 + (n * 13) % 60 ELSE 20 + (n * 13) % 80 END)"
        cur.execute(
            seq(deals) + f"INSERT INTO {deal_t} (customer_id, title, product, amount, currency, owner_id, engaged_on, "
            "expected_close, stage, outcome, closed_on, lost_reason, last_action_at, created_at, updated_at) "
            f"SELECT {first_customer} + n % {customers}, '项目' || n, '冲压机', 10000 + (n * 31) % 990000, 'CNY', "
            f"{rep0} + (n % {customers}) / {per_customer}, {engaged}, "
            f"CASE WHEN {outcome} = 2 THEN {plus_days_date(today_sql, 'n % 90')} "
            f"ELSE {plus_days_date(engaged, cycle)} END, "
            f"CASE {outcome} WHEN 0 THEN 'won' WHEN 1 THEN 'lost' ELSE {stage_at('(n % 5)')} END, "
            f"CASE {outcome} WHEN 0 THEN 'won' WHEN 1 THEN 'lost' ELSE 'open' END, "
            f"CASE WHEN {outcome} = 2 THEN NULL ELSE {plus_days_date(engaged, cycle)} END, '', "
            f"{now}, {now}, {now} FROM seq"
        )
        first_deal = Deal.objects.order_by("pk").values_list("pk", flat=True).first()
        assert first_deal is not None
        # Stage entries: each stage up to the furthest (all five for won deals), evenly over its life,
        # then the outcome on the close date.
        furthest = f"CASE d.outcome WHEN 'won' THEN 4 ELSE (d.id - {first_deal}) % 5 END"
        n = f"(d.id - {first_deal})"
        top = f"((d.owner_id - {rep0}) / {TEAM_SIZE}) % 10 = 0"
        life = (
            f"(CASE WHEN d.outcome = 'open' THEN 100 + ({n} * 7919) % 300 "
            f"WHEN {top} THEN 15 + ({n} * 13) % 60 ELSE 20 + ({n} * 13) % 80 END)"
        )
        ks = " UNION ALL ".join(f"SELECT {i} AS i" for i in range(len(STAGES)))
        cur.execute(
            f"INSERT INTO {history_t} (customer_id, deal_id, from_stage, to_stage, changed_at, action_id, "
            "changed_by_id) "
            f"SELECT d.customer_id, d.id, CASE WHEN s.i = 0 THEN '' ELSE {stage_at('(s.i - 1)')} END, "
            f"{stage_at('s.i')}, {plus_days('d.engaged_on', f's.i * {life} / 6.0')}, NULL, d.owner_id "
            f"FROM {deal_t} d CROSS JOIN ({ks}) s WHERE s.i <= {furthest}"
        )
        cur.execute(
            f"INSERT INTO {history_t} (customer_id, deal_id, from_stage, to_stage, changed_at, action_id, "
            "changed_by_id) "
            f"SELECT d.customer_id, d.id, {stage_at(furthest)}, d.outcome, {plus_days('d.closed_on', '0')}, NULL, "
            f"d.owner_id FROM {deal_t} d WHERE d.outcome <> 'open'"
        )
        # Actions: K per deal over its life (open deals: up to NOW), stage by position among the reached ones.
        k_max = per_deal_long
        kk = " UNION ALL ".join(f"SELECT {k} AS k" for k in range(k_max))
        count = f"(CASE WHEN d.id - {first_deal} < {long_deals} THEN {k_max} ELSE {k_max - 1} END)"
        stage_index = f"((a.k * ({furthest} + 1)) / {count})"
        second_at_compare = f"((2 * {count} + {furthest}) / ({furthest} + 1) + 1)"
        planted = (
            f"CASE WHEN {top} AND {furthest} >= 2 AND a.k = {second_at_compare} "
            f"AND ((d.id + a.k) * 7) % 10 < 6 THEN 'share_customer_case' "
            f"ELSE {pick(KEY_ACTIONS, '(d.id * 3 + a.k * 7)')} END"
        )
        occurred = plus_days("d.engaged_on", f"a.k * {life} * 0.9 / {count}")
        late = (
            f"CASE WHEN (d.id * 11 + a.k * 3) % 10 = 0 THEN {plus_days('d.engaged_on', f'a.k * {life} * 0.9 / {count} + 5 / 24.0')} "
            f"ELSE {plus_days('d.engaged_on', f'a.k * {life} * 0.9 / {count} + 10 / 1440.0')} END"
        )
        obstacle = (
            f"CASE WHEN {stage_index} = 2 AND (d.id + a.k) % 3 = 0 THEN 'complex_decision_chain' "
            f"ELSE {pick(OBSTACLES, '(d.id * 5 + a.k * 3)')} END"
        )
        cur.execute(
            f"INSERT INTO {action_t} (customer_id, deal_id, rep_id, occurred_at, logged_at, contact_method, stage, "
            "key_action, obstacle, next_step_plan, next_step_date, next_step_deliverable, emotion, summary, "
            "channel, content_type, response_strength, updated_at, edit_count) "
            f"SELECT d.customer_id, d.id, d.owner_id, {occurred}, {late}, {pick(METHODS, 'd.id + a.k')}, "
            f"{stage_at(stage_index)}, {planted}, {obstacle}, {pick(PLANS, '(d.id + a.k * 5)')}, NULL, '', "
            "'neutral', '', '', '', "
            f"{pick(RESPONSES, '(d.id + 2 * a.k)')}, {occurred}, 0 "
            f"FROM {deal_t} d CROSS JOIN ({kk}) a WHERE a.k < {count}"
        )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    counts: dict[str, Any] = {
        "reps": reps,
        "customers": Customer.objects.count(),
        "deals": Deal.objects.count(),
        "stage_history": StageHistory.objects.count(),
        "actions": ActionLog.objects.count(),
    }
    return counts
