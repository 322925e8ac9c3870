"""A realistic, deterministic FMCG demo team: reps, customers and ~90 days of actions.

The log it writes obeys the FMCG rules (it is what the rules would have let through), stages move
forward with believable obstacles and emotions, most entries are made within 2 hours and a tail
late, and three reps sell visibly faster, so dashboards built later have something true to show.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from salestrace.actions.demo import shelf_photo
from salestrace.actions.evidence_services import evidence_check, evidence_receive, evidence_stamp, evidence_write
from salestrace.actions.models import ActionEdit, ActionLog, Evidence, IdempotencyRecord
from salestrace.catalog.models import TemplatePack
from salestrace.core import clock
from salestrace.customers import dedupe
from salestrace.customers.compute import pinyin_keys
from salestrace.customers.models import Customer, StageHistory
from salestrace.customers.services import status_for_stage
from salestrace.field.models import (
    CheckIn,
    ExecutionReport,
    Member,
    Promotion,
    Redemption,
    RouteStop,
    StockLevel,
    StoreStaff,
)
from salestrace.field.promotion_services import PromotionInput, promotion_create
from salestrace.field.services import check_in
from salestrace.org.models import ApiToken, Role, Team, User

SHANGHAI = ZoneInfo("Asia/Shanghai")
PIPELINE = ["lead", "needs_confirmed", "solution_compare", "price_negotiation", "contract_signing", "won"]
CITIES = {
    "上海": ["浦东", "闵行", "徐汇", "嘉定", "宝山"],
    "杭州": ["西湖", "滨江", "余杭", "拱墅"],
    "南京": ["鼓楼", "江宁", "秦淮", "建邺"],
    "苏州": ["工业园区", "姑苏", "吴中", "相城"],
    "宁波": ["鄞州", "海曙", "江北"],
    "无锡": ["梁溪", "滨湖", "新吴"],
    "合肥": ["蜀山", "包河", "庐阳"],
}
# Where each city's stores are scattered around (WGS-84, as a phone reports).
CITY_CENTRES = {
    "上海": (31.2304, 121.4737),
    "杭州": (30.2741, 120.1551),
    "南京": (32.0603, 118.7969),
    "苏州": (31.2990, 120.5853),
    "宁波": (29.8683, 121.5440),
    "无锡": (31.4912, 120.3119),
    "合肥": (31.8206, 117.2272),
}
# Field days seeded back from today: routes, check-ins and the visits they did (or did not) lead to.
FIELD_DAYS = 10
REGIONS = {
    "上海": "华东一区",
    "苏州": "华东一区",
    "无锡": "华东一区",
    "杭州": "华东二区",
    "宁波": "华东二区",
    "南京": "华东三区",
    "合肥": "华东三区",
}
STORE_BRANDS = [
    "联华",
    "华润万家",
    "好德",
    "罗森",
    "全家",
    "苏果",
    "世纪联华",
    "永辉",
    "大润发",
    "物美",
    "盒马",
    "便利蜂",
    "红旗连锁",
]
STORE_TYPES = ["超市", "便利店", "生活超市", "社区店", "购物广场"]
ACCOUNT_NAMES = ["商贸有限公司", "食品批发部", "连锁便利有限公司", "副食品商行", "贸易有限公司"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉斌宇浩凯健俊帆帅旭宁龙林欢阳建波"

KEY_ACTIONS = {
    "lead": ["store_check", "send_brochure", "quick_diagnosis"],
    "needs_confirmed": ["send_brochure", "book_demo", "start_trial", "shelf_display"],
    "solution_compare": ["competitor_comparison", "submit_custom_proposal", "share_customer_case", "executive_meeting"],
    "price_negotiation": ["send_quote", "executive_meeting", "promo_setup"],
    "contract_signing": ["submit_custom_proposal", "executive_meeting", "payment_collection"],
    "won": ["restock_order", "shelf_display", "promo_setup", "store_check", "payment_collection"],
    "lost": ["store_check"],
}
# What the top performers do more of at the comparison stage (for later analysis to find).
TOP_COMPARE_ACTIONS = ["executive_meeting", "competitor_comparison", "competitor_comparison", "share_customer_case"]
OBSTACLES = {
    "lead": [("", 6), ("shelf_space", 2), ("inventory_backlog", 1), ("competitor_interference", 1)],
    "needs_confirmed": [("", 4), ("technical_doubt", 2), ("shelf_space", 2), ("budget_shortage", 1)],
    "solution_compare": [
        ("complex_decision_chain", 37),
        ("competitor_interference", 25),
        ("technical_doubt", 18),
        ("budget_shortage", 10),
        ("", 10),
    ],
    "price_negotiation": [
        ("budget_shortage", 40),
        ("competitor_interference", 30),
        ("complex_decision_chain", 20),
        ("inventory_backlog", 10),
    ],
    "contract_signing": [("", 4), ("complex_decision_chain", 3), ("budget_shortage", 2)],
    "won": [("", 8), ("inventory_backlog", 1), ("shelf_space", 1)],
    "lost": [("competitor_interference", 5), ("budget_shortage", 3)],
}
PLANS = {
    "lead": [
        ("下周带新品样品上门拜访店长", "新品样品"),
        ("发送产品目录给采购负责人", "产品目录"),
        ("约店长做15分钟快速诊断", "诊断记录"),
    ],
    "needs_confirmed": [
        ("提交首批铺货清单", "铺货清单"),
        ("安排试销两周并收集动销数据", "试销数据表"),
        ("演示陈列方案", "陈列方案"),
    ],
    "solution_compare": [
        ("提交定制陈列与促销方案", "定制方案"),
        ("发送竞品对比表给采购经理", "竞品对比表"),
        ("约区域经理与老板三方会谈", "会谈纪要"),
    ],
    "price_negotiation": [
        ("按新账期重新报价", "报价单"),
        ("申请阶梯返点政策", "返点申请"),
        ("约老板确认最终价格", "价格确认单"),
    ],
    "contract_signing": [
        ("寄送合同并跟进盖章", "盖章合同"),
        ("确认首单到货时间", "首单订单"),
        ("办理开户资料", "开户资料"),
    ],
    "won": [("下周补货并检查陈列", "补货单"), ("布置月度促销堆头", "堆头照片"), ("对账并催收上月货款", "对账单")],
    "lost": [("三个月后回访", "回访记录")],
}
SUMMARIES = {
    "visit": [
        "门店陈列检查，货架占比约{p}%，店长关注动销速度",
        "与店长面谈，对方希望提供更多促销支持",
        "现场查看库存，{p}%的SKU需要补货",
    ],
    "phone": [
        "电话沟通首单数量，客户要求{p}天账期",
        "电话确认送货时间，客户对价格仍有顾虑",
        "与采购经理通话，对方需内部审批",
    ],
    "wechat": [
        "微信发送报价单，客户回复会与老板商量",
        "微信推送新品资料，客户询问返点政策",
        "微信确认陈列照片，客户满意度较高",
    ],
    "email": ["邮件发送合同草稿及报价明细", "邮件回复客户关于账期的疑问"],
}


@dataclass
class RepProfile:
    user: User
    advance: float  # chance that an action moves the customer one stage on
    gap_days: float  # mean days between two actions on one customer
    late_share: float  # share of entries made more than 2 hours after the fact


@dataclass
class Plan:
    customers: list[Customer] = field(default_factory=list)
    actions: list[list[ActionLog]] = field(default_factory=list)


class Command(BaseCommand):
    help = "Build a realistic, deterministic FMCG demo team (loads the fmcg template first if needed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--reps", type=int, default=24)
        parser.add_argument("--customers", type=int, default=1500)
        parser.add_argument("--days", type=int, default=90)
        parser.add_argument("--password", default="demo")
        parser.add_argument(
            "--photo-days",
            type=int,
            default=14,
            help="visits of the last N days carry a stamped on-site photo (the team switched the photo rule "
            "on N days ago; earlier visits were logged without one)",
        )
        parser.add_argument(
            "--reset", action="store_true", help="delete existing customers, actions and demo users first"
        )
        parser.add_argument("--if-empty", action="store_true", help="do nothing when users already exist")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["reps"] < 1 or opts["customers"] < 1 or opts["days"] < 1:
            raise CommandError("--reps, --customers and --days must be at least 1")
        if opts["if_empty"] and User.objects.exists():
            self.stdout.write("users exist already; demo not seeded again")
            return
        if not TemplatePack.objects.exists():
            call_command("load_template", "fmcg", stdout=self.stdout)
        if opts["reset"]:
            self._reset()
        elif User.objects.filter(username="director").exists():
            raise CommandError("the demo team exists already; use --reset to rebuild it")
        rng = random.Random(opts["seed"])
        now = clock.now()
        self.photos_since = now - timedelta(days=max(0, opts["photo_days"]))
        self.photo_seed = opts["seed"] * 100_000
        # Store coordinates come from a generator of their own, so the rest of the demo stays as it was.
        self.geo = random.Random(opts["seed"] + 1)
        with transaction.atomic():
            profiles = self._team(rng, reps=opts["reps"], password=opts["password"], now=now)
        total = self._customers_and_actions(rng, profiles, count=opts["customers"], days=opts["days"], now=now)
        check_ins = self._field(random.Random(opts["seed"] + 2), now=now)
        self._promotion(random.Random(opts["seed"] + 3), now=now, password=opts["password"])
        self.stdout.write(
            f"demo: {len(profiles)} reps, {opts['customers']} customers, {total} actions over {opts['days']} days, "
            f"{check_ins} store check-ins over {FIELD_DAYS} days"
        )

    def _visit_photos(self, visits: list[ActionLog]) -> None:
        """A stamped on-site photo for each visit, made by the upload service itself (checks, EXIF,
        hash, watermark with receipt time, rep, customer and position; files in the default
        storage): EXIF time a few minutes after the visit, received when the visit was logged.
        Rows are written in bulk; the reuse and EXIF-time checks of an attach are not run."""
        rows = []
        for action in visits:
            self.photo_seed += 1
            rng = random.Random(self.photo_seed)
            taken = action.occurred_at.astimezone(SHANGHAI) + timedelta(minutes=rng.randint(0, 20))
            received = evidence_receive(
                ContentFile(shelf_photo(taken_at=taken, size=(640, 480), seed=self.photo_seed)), Evidence.Kind.PHOTO
            )
            evidence = evidence_check(
                user=action.rep,
                customer=action.customer,
                received=received,
                now=action.logged_at,
                latitude=Decimal(f"{31.23 + rng.uniform(-0.15, 0.15):.6f}"),
                longitude=Decimal(f"{121.47 + rng.uniform(-0.2, 0.2):.6f}"),
            )
            evidence = evidence_write(evidence, received).ready()
            evidence_stamp(evidence)  # what the worker does after a real upload; the demo has no worker yet
            evidence.action = action
            rows.append(evidence)
        Evidence.objects.bulk_create(rows, batch_size=500)

    def _field(self, rng: random.Random, *, now: datetime) -> int:
        """The last FIELD_DAYS working days in the field, built around the visits the log has: each
        rep's route is the stores they logged visits at plus some they did not (some checked in at but
        never logged, some never reached), planned by the team's supervisor; check-ins go through the
        check-in service (distance and flags are real), near the store, a few far or without a fix."""
        today = now.astimezone(SHANGHAI).date()
        days = [d for d in (today - timedelta(days=n) for n in range(14)) if d.weekday() < 5][:FIELD_DAYS]
        supervisors = dict(User.objects.filter(role=Role.SUPERVISOR).values_list("team_id", "pk"))
        reps = list(User.objects.filter(role=Role.REP).order_by("username"))
        first = datetime.combine(min(days), time.min, tzinfo=SHANGHAI)
        logged: dict[tuple[int, date], list[tuple[datetime, int]]] = {}
        for rep_id, customer_id, at in (
            ActionLog.objects.filter(contact_method="visit", occurred_at__gte=first, occurred_at__lte=now)
            .order_by("occurred_at")
            .values_list("rep_id", "customer_id", "occurred_at")
        ):
            logged.setdefault((rep_id, at.astimezone(SHANGHAI).date()), []).append((at, customer_id))
        stores_of: dict[int, list[Customer]] = {}
        for store in Customer.objects.filter(kind__in=[Customer.Kind.STORE, Customer.Kind.ACCOUNT]).exclude(
            status__in=[Customer.Status.LOST, Customer.Status.DORMANT]
        ):
            stores_of.setdefault(store.owner_id, []).append(store)
        by_id = {c.pk: c for listed in stores_of.values() for c in listed}
        stops: list[RouteStop] = []
        made = 0
        for rep in reps:
            for day in days:
                visits = [(at, c) for at, c in logged.get((rep.pk, day), []) if c in by_id]
                seen = {c for _, c in visits}
                spare = [c.pk for c in stores_of.get(rep.pk, []) if c.pk not in seen]
                # About one planned store in four or five never gets a visit logged (the seed's 23 %).
                wanted = sum(rng.random() < 0.25 for _ in visits) + (4 if day == today else 0)
                extra = rng.sample(spare, k=min(len(spare), wanted))
                planned = [c for _, c in visits if rng.random() > 0.05] + extra
                rng.shuffle(planned)
                stops += [
                    RouteStop(
                        rep=rep,
                        day=day,
                        customer_id=c,
                        position=n,
                        planned_by_id=supervisors.get(rep.team_id or 0, rep.pk),
                        created_at=first,
                    )
                    for n, c in enumerate(planned, start=1)
                ]
                unlogged = [c for c in extra if rng.random() < 0.6]
                checked = [(at - timedelta(minutes=rng.randint(5, 25)), c) for at, c in visits]
                noon = datetime.combine(day, time(12), tzinfo=SHANGHAI)
                checked += [(self._working_time(rng, noon), c) for c in unlogged]
                for at, customer_id in checked:
                    if at > now:
                        continue
                    made += self._check_in(rng, rep, by_id[customer_id], at, now)
        RouteStop.objects.bulk_create(stops, batch_size=1000, ignore_conflicts=True)
        return made

    def _promotion(self, rng: random.Random, *, now: datetime, password: str) -> None:
        """The seed's 满299减50 in the demo's stores, a week old: most stores reported running it,
        about two in three have redemptions in the POS export (some reported ones none at all);
        members, stock, and a clerk (`clerk`) placed in one store."""
        today = now.astimezone(SHANGHAI).date()
        stores = list(Customer.objects.filter(kind=Customer.Kind.STORE, status=Customer.Status.WON).order_by("pk"))
        if not stores:
            return
        director = User.objects.get(username="director")
        promotion = promotion_create(
            user=director,
            data=PromotionInput(
                name="双十二会员节",
                rule_text="满299减50",
                starts_on=today - timedelta(days=7),
                ends_on=today + timedelta(days=8),
                store_ids=[s.pk for s in stores],
                product="婴儿配方奶粉900g",
            ),
            now=now - timedelta(days=8),
        )
        reports, redemptions, stock = [], [], []
        for store in stores:
            reported = rng.random() < 0.92
            if reported:
                reports.append(
                    ExecutionReport(
                        promotion=promotion,
                        store=store,
                        reported_by_id=store.owner_id,
                        reported_at=now - timedelta(days=7, hours=-rng.randint(1, 30)),
                    )
                )
            if rng.random() < (0.69 if reported else 0.2):
                for back in range(1, 8):
                    day = today - timedelta(days=back)
                    receipts = rng.randint(0, 9)
                    if receipts:
                        redemptions.append(
                            Redemption(
                                promotion=promotion,
                                store=store,
                                day=day,
                                receipts=receipts,
                                discount_total=promotion.discount * receipts,
                                source=Redemption.Source.POS,
                                external_id=f"POS-{store.pk}-{day.isoformat()}",
                                created_at=now,
                            )
                        )
            stock.append(StockLevel(store=store, product=promotion.product, quantity=rng.randint(0, 60), as_of=now))
        ExecutionReport.objects.bulk_create(reports, batch_size=1000)
        Redemption.objects.bulk_create(redemptions, batch_size=1000)
        StockLevel.objects.bulk_create(stock, batch_size=1000)
        levels = ["普通", "银卡", "金卡", "钻石卡"]
        Member.objects.bulk_create(
            [
                Member(phone=f"1380013{n:04d}", name=self._person(rng), level=rng.choice(levels), updated_at=now)
                for n in range(200)
            ],
            ignore_conflicts=True,
        )
        clerk = User.objects.create(
            username="clerk",
            password=make_password(password),
            role=Role.STORE_STAFF,
            display_name=self._person(rng),
            team_id=stores[0].owner.team_id,  # the team whose supervisor runs the store
        )
        StoreStaff.objects.create(user=clerk, store=stores[0])

    def _check_in(self, rng: random.Random, rep: User, store: Customer, at: datetime, now: datetime) -> int:
        roll = rng.random()
        lat = lng = None
        if store.latitude is not None and store.longitude is not None and roll > 0.02:
            spread = 0.0054 if roll > 0.96 else 0.0004  # a few check-ins ~600 m away, most within ~50 m
            lat = (store.latitude + Decimal(f"{rng.uniform(-spread, spread):.6f}")).quantize(Decimal("0.000001"))
            lng = (store.longitude + Decimal(f"{rng.uniform(-spread, spread):.6f}")).quantize(Decimal("0.000001"))
        elif store.latitude is None and roll > 0.02:
            lat, lng = Decimal(f"{31.2 + rng.uniform(0, 0.1):.6f}"), Decimal(f"{121.4 + rng.uniform(0, 0.1):.6f}")
        received = min(now, at + timedelta(seconds=rng.randint(1, 40)))
        check_in(
            rep=rep,
            customer_id=store.pk,
            now=received,
            occurred_at=at,
            latitude=lat,
            longitude=lng,
            accuracy_m=rng.randint(8, 40) if lat is not None else None,
        )
        return 1

    def _reset(self) -> None:
        with transaction.atomic():
            CheckIn.objects.all().delete()
            RouteStop.objects.all().delete()
            Promotion.objects.all().delete()
            ExecutionReport.objects.all().delete()
            Member.objects.all().delete()
            StockLevel.objects.all().delete()
            Evidence.objects.all().delete()
            IdempotencyRecord.objects.all().delete()
            ActionEdit.objects.all().delete()
            StageHistory.objects.all().delete()
            ActionLog.objects.all().delete()
            Customer.objects.all().delete()
            ApiToken.objects.all().delete()
            User.objects.all().delete()
            Team.objects.filter(parent__isnull=False, kind=Team.Kind.TEAM).delete()
            Team.objects.filter(parent__isnull=False).delete()
            Team.objects.all().delete()

    def _person(self, rng: random.Random) -> str:
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))

    def _team(self, rng: random.Random, *, reps: int, password: str, now: datetime) -> list[RepProfile]:
        hashed = make_password(password)
        company = Team.objects.create(name="华东快消事业部", kind=Team.Kind.COMPANY)
        region_names = sorted(set(REGIONS.values()))
        regions = [Team.objects.create(name=n, kind=Team.Kind.REGION, parent=company) for n in region_names]
        team_count = max(3, math.ceil(reps / 8))
        teams = [
            Team.objects.create(
                name=f"{regions[i % len(regions)].name}{i // len(regions) + 1}组",
                kind=Team.Kind.TEAM,
                parent=regions[i % len(regions)],
            )
            for i in range(team_count)
        ]

        def user(username: str, role: str, team: Team | None, **extra: Any) -> User:
            return User(
                username=username,
                password=hashed,
                role=role,
                team=team,
                display_name=self._person(rng),
                date_joined=now,
                **extra,
            )

        staff = [
            user("director", Role.DIRECTOR, company),
            user("admin", Role.ADMIN, company, is_staff=True, is_superuser=True),
            user("assistant", Role.ASSISTANT, company),
        ]
        staff += [user(f"sup{i + 1}", Role.SUPERVISOR, team) for i, team in enumerate(teams)]
        width = max(2, len(str(reps)))
        rep_users = [user(f"rep{i + 1:0{width}d}", Role.REP, teams[i % team_count]) for i in range(reps)]
        User.objects.bulk_create(staff + rep_users, batch_size=1000)
        rep_users = list(User.objects.filter(role=Role.REP).order_by("username"))
        top = set(rng.sample(range(reps), k=min(3, reps)))
        profiles = []
        for i, rep in enumerate(rep_users):
            if i in top:
                profiles.append(RepProfile(rep, advance=0.34, gap_days=3.5, late_share=0.08))
            else:
                profiles.append(
                    RepProfile(
                        rep,
                        advance=rng.uniform(0.16, 0.26),
                        gap_days=rng.uniform(5.0, 8.0),
                        late_share=rng.uniform(0.12, 0.3),
                    )
                )
        return profiles

    def _customer(self, rng: random.Random, owner: User, now: datetime, days: int) -> Customer:
        city = rng.choice(list(CITIES))
        district = rng.choice(CITIES[city])
        roll = rng.random()
        if roll < 0.7:
            kind, name = (
                Customer.Kind.STORE,
                f"{rng.choice(STORE_BRANDS)}{rng.choice(STORE_TYPES)}({district}{rng.randint(1, 99)}号店)",
            )
        elif roll < 0.85:
            kind, name = (
                Customer.Kind.ACCOUNT,
                f"{city}{self._person(rng)[:1]}{rng.choice('鑫盛隆泰丰源达')}{rng.choice(ACCOUNT_NAMES)}",
            )
        else:
            kind, name = Customer.Kind.LEAD, f"{district}{rng.choice(STORE_BRANDS)}{rng.choice(STORE_TYPES)}(待开发)"
        created = now - timedelta(days=rng.uniform(days * 0.5, days + 30))
        name_pinyin, name_initials = pinyin_keys(name)
        latitude = longitude = None
        # Stores and accounts have a location; one in ten is new and has none yet (a supervisor takes
        # it from a check-in).
        if kind != Customer.Kind.LEAD and self.geo.random() < 0.9:
            lat, lng = CITY_CENTRES[city]
            latitude = Decimal(f"{lat + self.geo.uniform(-0.08, 0.08):.6f}")
            longitude = Decimal(f"{lng + self.geo.uniform(-0.08, 0.08):.6f}")
        return Customer(
            kind=kind,
            name=name,
            name_pinyin=name_pinyin,
            name_initials=name_initials,
            name_key=dedupe.name_key(name),
            name_sound=dedupe.name_sound(name),
            region=REGIONS[city],
            city=city,
            industry="快消零售",
            owner=owner,
            stage="lead",
            status=Customer.Status.ACTIVE,
            created_at=created,
            updated_at=created,
            assigned_at=created,
            latitude=latitude,
            longitude=longitude,
        )

    def _weighted(self, rng: random.Random, options: list[tuple[str, int]]) -> str:
        return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]

    def _action(
        self,
        rng: random.Random,
        profile: RepProfile,
        customer: Customer,
        stage: str,
        at: datetime,
        now: datetime,
        progressed: bool,
    ) -> ActionLog:
        method = self._weighted(rng, [("visit", 55), ("wechat", 25), ("phone", 15), ("email", 5)])
        pool = KEY_ACTIONS[stage]
        if stage == "solution_compare" and profile.advance > 0.3:
            pool = TOP_COMPARE_ACTIONS
        obstacle = self._weighted(rng, OBSTACLES[stage])
        plan, deliverable = rng.choice(PLANS[stage])
        has_next = stage in ("price_negotiation", "contract_signing") or rng.random() < 0.8
        emotion = (
            "positive"
            if progressed and rng.random() < 0.7
            else self._weighted(rng, [("neutral", 5), ("positive", 3), ("resistant", 2)])
        )
        if stage == "lost":
            emotion = "resistant"
        summary = ""
        if method in ("wechat", "phone", "email") or rng.random() < 0.4:
            summary = rng.choice(SUMMARIES[method]).format(p=rng.randint(10, 60))
        delay = self._delay(rng, profile)
        channel = {
            "visit": "visit",
            "phone": "phone",
            "wechat": rng.choice(["wechat_text", "wechat_voice"]),
            "email": "",
        }[method]
        quality = rng.random() < 0.6
        return ActionLog(
            customer=customer,
            rep=profile.user,
            occurred_at=at,
            logged_at=min(at + delay, now),
            updated_at=min(at + delay, now),
            contact_method=method,
            stage=stage,
            key_action=rng.choice(pool),
            obstacle=obstacle,
            next_step_plan=plan if has_next else "",
            next_step_date=(at.astimezone(SHANGHAI) + timedelta(days=rng.randint(1, 7))).date() if has_next else None,
            next_step_deliverable=deliverable if has_next else "",
            emotion=emotion,
            summary=summary,
            channel=channel if quality else "",
            content_type=rng.choice(["answer_questions", "push_materials", "book_meeting", "chase_progress"])
            if quality
            else "",
            response_strength=(
                rng.choice(["active_question", "confirm_details", "confirm_details"])
                if progressed
                else rng.choice(["active_question", "confirm_details", "request_delay", "explicit_refusal"])
            )
            if quality
            else "",
        )

    def _delay(self, rng: random.Random, profile: RepProfile) -> timedelta:
        if rng.random() >= profile.late_share:
            return timedelta(minutes=rng.uniform(1, 110))
        if rng.random() < 0.75:
            return timedelta(hours=rng.uniform(2.1, 9))
        return timedelta(days=rng.uniform(1, 3))

    def _working_time(self, rng: random.Random, moment: datetime) -> datetime:
        local = moment.astimezone(SHANGHAI).replace(
            hour=rng.randint(9, 17), minute=rng.randint(0, 59), second=0, microsecond=0
        )
        return local.astimezone(ZoneInfo("UTC"))

    def _customers_and_actions(
        self, rng: random.Random, profiles: list[RepProfile], *, count: int, days: int, now: datetime
    ) -> int:
        start = now - timedelta(days=days)
        total = 0
        batch = Plan()
        for n in range(count):
            profile = profiles[n % len(profiles)] if n < len(profiles) * 2 else rng.choice(profiles)
            customer = self._customer(rng, profile.user, now, days)
            existing_store = customer.kind != Customer.Kind.LEAD and rng.random() < 0.35
            stage = "won" if existing_store else "lead"
            # Some customers are simply dropped: the aging and pool features will find them.
            stops_at = now - timedelta(days=rng.choice([0, 0, 0, 0, 5, 10, 16, 25, 40]) + rng.uniform(0, 3))
            at = max(start, customer.created_at) + timedelta(days=rng.uniform(0, profile.gap_days))
            actions: list[ActionLog] = []
            while at < stops_at:
                progressed = False
                if stage not in ("won", "lost") and actions:
                    if stage in ("price_negotiation", "contract_signing") and rng.random() < 0.07:
                        stage, progressed = "lost", False
                    elif rng.random() < profile.advance:
                        stage, progressed = PIPELINE[PIPELINE.index(stage) + 1], True
                moment = self._working_time(rng, at)
                if actions and moment <= actions[-1].occurred_at:
                    # Two contacts on one day: the second comes after the first.
                    moment = actions[-1].occurred_at + timedelta(minutes=rng.randint(30, 180))
                if moment > now:
                    break
                actions.append(self._action(rng, profile, customer, stage, moment, now, progressed))
                if stage == "lost":
                    break
                at += timedelta(
                    days=max(0.5, rng.expovariate(1 / (profile.gap_days * (1.4 if stage == "won" else 1.0))))
                )
            batch.customers.append(customer)
            batch.actions.append(actions)
            total += len(actions)
            if len(batch.customers) >= 2000:
                self._write(batch)
                batch = Plan()
        if batch.customers:
            self._write(batch)
        return total

    @transaction.atomic
    def _write(self, batch: Plan) -> None:
        for customer, actions in zip(batch.customers, batch.actions, strict=True):
            if actions:
                last = actions[-1]
                customer.stage = last.stage
                customer.status = status_for_stage(last.stage)
                customer.last_active_at = last.occurred_at
                customer.updated_at = last.logged_at
        Customer.objects.bulk_create(batch.customers, batch_size=1000)
        flat = []
        for customer, actions in zip(batch.customers, batch.actions, strict=True):
            for action in actions:
                action.customer = customer
                flat.append(action)
        ActionLog.objects.bulk_create(flat, batch_size=1000)
        self._visit_photos([a for a in flat if a.contact_method == "visit" and a.occurred_at >= self.photos_since])
        history = []
        for customer, actions in zip(batch.customers, batch.actions, strict=True):
            first_stage = actions[0].stage if actions else "lead"
            history.append(
                StageHistory(
                    customer=customer,
                    from_stage="",
                    to_stage=first_stage if first_stage == "won" else "lead",
                    changed_at=customer.created_at,
                )
            )
            previous = history[-1].to_stage
            for action in actions:
                if action.stage != previous:
                    history.append(
                        StageHistory(
                            customer=customer,
                            from_stage=previous,
                            to_stage=action.stage,
                            changed_at=action.occurred_at,
                            action=action,
                            changed_by=action.rep,
                        )
                    )
                    previous = action.stage
        StageHistory.objects.bulk_create(history, batch_size=1000)
