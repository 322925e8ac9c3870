"""The REST API at /api/v1: one NinjaAPI, one router per domain app."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.renderers import JSONRenderer

from salestrace.actions.api import router as actions_router
from salestrace.analytics.api import router as analytics_router
from salestrace.catalog.api import router as catalog_router
from salestrace.core.api import StrictParser, install_error_handlers
from salestrace.customers.api import deals_router, pool_router
from salestrace.customers.api import router as customers_router
from salestrace.field.api import router as field_router
from salestrace.imports.api import router as imports_router
from salestrace.org.api import api_auth
from salestrace.org.api import router as auth_router
from salestrace.todos.api import router as tasks_router


class ReadableJSONRenderer(JSONRenderer):
    """Chinese text as itself, not \\u escapes: smaller and readable in logs."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=ReadableJSONRenderer(),
    parser=StrictParser(),
    title="SalesTrace API",
    version="1",
    description=str(_("Every sales action as a structured, verifiable record.")),
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=api_auth(),
)
install_error_handlers(api)
api.add_router("/auth", auth_router)
api.add_router("/", catalog_router)
api.add_router("/", customers_router)
api.add_router("/pool", pool_router)
api.add_router("/deals", deals_router)
api.add_router("/", analytics_router)
api.add_router("/", actions_router)
api.add_router("/", tasks_router)
api.add_router("/", imports_router)
api.add_router("/", field_router)
