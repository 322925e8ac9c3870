from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypedDict

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Field, File, Form, Query, Router, Schema, UploadedFile
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import paginate
from ninja.params.functions import File as FileParam
from pydantic import ValidationError as PydanticValidationError
from pydantic import field_validator

from salestrace.actions.evidence_services import evidence_add, evidence_retry, evidence_upload
from salestrace.actions.models import ActionLog, Evidence
from salestrace.actions.rules import ActionDraft
from salestrace.actions.selectors import (
    ActionFilters,
    action_edits,
    action_get,
    action_list,
    evidence_get,
    evidence_of,
    summary_needed,
    with_evidence,
)
from salestrace.actions.services import NewFile, action_log_with_files, action_update
from salestrace.core import clock
from salestrace.core.api import ERRORS, MAX_ID, BodyInt, IdPath, IsoDate, IsoDateTime, Pagination
from salestrace.core.errors import FieldError, InvalidInput, NotFound

router = Router(tags=["actions"])

CODE = Field("", max_length=50)


class ActionFields(Schema):
    contact_method: str = Field(..., min_length=1, max_length=50, description="`contact_method` option code.")
    stage: str = Field(
        ..., min_length=1, max_length=50, description="`stage` option code: the customer's stage after this action."
    )
    key_action: str = CODE
    obstacle: str = CODE
    next_step_plan: str = Field("", max_length=500)
    next_step_date: IsoDate | None = None
    next_step_deliverable: str = Field("", max_length=200)
    emotion: str = CODE
    summary: str = Field("", max_length=5000)
    channel: str = CODE
    content_type: str = CODE
    response_strength: str = CODE


class ActionIn(ActionFields):
    customer_id: BodyInt = Field(..., ge=1, le=MAX_ID)
    deal_id: BodyInt | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="Where the template uses deals: the open deal the action works on. Left out: the customer's "
        "one open deal, or a new deal when it has none (422 `required` when it has several).",
    )
    occurred_at: IsoDateTime = Field(..., description="When it happened; no offset means Asia/Shanghai time.")
    evidence_ids: list[Annotated[BodyInt, Field(ge=1, le=MAX_ID)]] = Field(
        default_factory=list,
        max_length=20,
        description="Files uploaded first with `POST /evidence` for this customer, attached with the action "
        "so rules that require evidence (a visit photo, a WeChat screenshot) are met.",
    )

    model_config = {"extra": "forbid"}


class ActionPatch(Schema):
    occurred_at: IsoDateTime | None = None
    contact_method: str | None = Field(None, min_length=1, max_length=50)
    stage: str | None = Field(None, min_length=1, max_length=50)
    key_action: str | None = Field(None, max_length=50)
    obstacle: str | None = Field(None, max_length=50)
    next_step_plan: str | None = Field(None, max_length=500)
    next_step_date: IsoDate | None = None
    next_step_deliverable: str | None = Field(None, max_length=200)
    emotion: str | None = Field(None, max_length=50)
    summary: str | None = Field(None, max_length=5000)
    channel: str | None = Field(None, max_length=50)
    content_type: str | None = Field(None, max_length=50)
    response_strength: str | None = Field(None, max_length=50)

    model_config = {"extra": "forbid"}

    @field_validator("occurred_at", "contact_method", "stage", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class ActionOut(Schema):
    id: int
    customer_id: int
    customer_name: str = Field(..., alias="customer.name")
    deal_id: int | None
    rep_id: int
    rep_name: str
    occurred_at: datetime
    logged_at: datetime
    contact_method: str
    stage: str
    key_action: str
    obstacle: str
    next_step_plan: str
    next_step_date: date | None
    next_step_deliverable: str
    emotion: str
    summary: str
    channel: str
    content_type: str
    response_strength: str
    edit_count: int

    @staticmethod
    def resolve_rep_name(obj: Any) -> str:
        return str(obj.rep)


class ActionEditOut(Schema):
    edited_by_id: int | None
    edited_at: datetime
    before: dict[str, Any]
    after: dict[str, Any]


class EvidenceOut(Schema):
    id: int
    action_id: int | None = Field(..., description="Empty until the upload is attached to an action.")
    customer_id: int
    kind: str
    mime_type: str
    size: int
    sha256: str
    image_hash: str
    taken_at: datetime | None
    latitude: Decimal | None
    longitude: Decimal | None
    flags: list[str] = Field(
        ..., description="Of a photo: no_exif, exif_time_mismatch, reused_photo; set once stamped."
    )
    processing: str = Field(
        ...,
        description="pending while the worker makes a photo's stamped copy, perceptual hash, EXIF time and flags; "
        "then done, or failed when the picture cannot be decoded.",
    )
    recognition: str = Field(..., description="n/a, pending, done, failed or unavailable.")
    recognition_message: str
    recognised_text: str
    created_at: datetime
    original_url: str
    watermarked_url: str | None


class ActionDetailOut(ActionOut):
    edits: list[ActionEditOut]
    evidence: list[EvidenceOut]
    summary_needed: bool = Field(
        ..., description="The summary is empty and the screenshots or recordings could not be read: write it."
    )

    @staticmethod
    def resolve_summary_needed(obj: ActionLog) -> bool:
        return summary_needed(obj)

    @staticmethod
    def resolve_edits(obj: ActionLog) -> list[Any]:
        return list(action_edits(action=obj))

    @staticmethod
    def resolve_evidence(obj: ActionLog) -> list[Any]:
        return list(obj.evidence.all())  # loaded in order by with_evidence


class ActionQuery(Schema):
    customer_id: int | None = Field(None, ge=1, le=MAX_ID)
    rep_id: int | None = Field(None, ge=1, le=MAX_ID)
    stage: str | None = Field(None, max_length=50)
    key_action: str | None = Field(None, max_length=50)
    occurred_after: IsoDateTime | None = None
    occurred_before: IsoDateTime | None = None


@router.get("/actions", response={200: list[ActionOut], **ERRORS})
@paginate(Pagination)
def list_actions(request: HttpRequest, filters: Query[ActionQuery]) -> Any:
    """Actions in your scope, newest first by when they happened."""
    return action_list(user=request.user, filters=ActionFilters(**filters.dict()))  # type: ignore[arg-type]


@router.post("/actions", response={201: ActionOut, **ERRORS})
def create_action(request: HttpRequest, response: HttpResponse, payload: ActionIn) -> tuple[int, ActionLog]:
    """Log an action. Every rule violation is reported at once (422).

    Send an `Idempotency-Key` header to make retries safe: a repeat returns the first action.
    """
    return 201, _log(request, response, payload)


# The optional file parts of `POST /actions/with-evidence` (ninja reads them from these defaults).
PHOTO_PART = FileParam(None, description="A photo (a visit's on-site photo).")
SCREENSHOT_PART = FileParam(None, description="A chat screenshot, read into the summary.")
AUDIO_PART = FileParam(None, description="A call recording, transcribed into the summary.")


def _idempotency_key(request: HttpRequest) -> str | None:
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and len(key) > 200:
        raise InvalidInput([FieldError("Idempotency-Key", "too_long", _("The Idempotency-Key header is too long."))])
    return key


def _log(
    request: HttpRequest,
    response: HttpResponse,
    payload: ActionIn,
    files: Sequence[NewFile] = (),
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
) -> ActionLog:
    """`action_log` of an API body (with the request's files, taken where `latitude` and
    `longitude` say): the one way both action endpoints log."""
    data = payload.dict()
    customer_id, deal_id, evidence_ids = data.pop("customer_id"), data.pop("deal_id"), data.pop("evidence_ids")
    action, created = action_log_with_files(
        user=request.user,  # type: ignore[arg-type]
        customer_id=customer_id,
        draft=ActionDraft(**data),
        now=clock.now(),
        files=files,
        kept=[],
        idempotency_key=_idempotency_key(request),
        evidence_ids=evidence_ids,
        deal_id=deal_id,
        latitude=latitude,
        longitude=longitude,
    )
    if not created:
        response["Idempotent-Replayed"] = "true"
    return action


@router.post("/actions/with-evidence", response={201: ActionOut, **ERRORS})
def create_action_with_evidence(
    request: HttpRequest,
    response: HttpResponse,
    action: Form[str],
    photo: UploadedFile | None = PHOTO_PART,
    screenshot: UploadedFile | None = SCREENSHOT_PART,
    audio: UploadedFile | None = AUDIO_PART,
    latitude: Form[Decimal | None] = None,
    longitude: Form[Decimal | None] = None,
) -> tuple[int, ActionLog]:
    """Log an action and its files in one multipart request (a visit and its photo: one round
    trip on a store's weak signal), under the same rules as `POST /evidence` then `POST /actions`.

    `action` is the body `POST /actions` takes, as JSON text; `photo`, `screenshot` and `audio`
    are files. They are checked first (a refusal names the part) and stored, and their rows are
    saved in the action's transaction. If a file or the action is refused, the files that passed stay
    unattached for a day (a retry may send them again, or their ids in `evidence_ids`), then are
    deleted. Send an `Idempotency-Key` header to make retries safe: a repeat returns the first
    action, and files sent again with it are not attached twice.
    """
    _idempotency_key(request)  # refused before any file is stored
    try:
        payload = ActionIn.model_validate_json(action)
    except PydanticValidationError as exc:
        raise NinjaValidationError(
            [{"loc": ("action", *e["loc"]), "type": e["type"], "msg": e["msg"]} for e in exc.errors()]
        ) from None
    files = [
        NewFile(field=kind, kind=kind, upload=upload)
        for kind, upload in (("photo", photo), ("screenshot", screenshot), ("audio", audio))
        if upload is not None
    ]
    return 201, _log(request, response, payload, files, **_position(latitude, longitude))


@router.get("/actions/{action_id}", response={200: ActionDetailOut, **ERRORS})
def get_action(request: HttpRequest, action_id: IdPath) -> ActionLog:
    """One action with every kept edit (who, when, before, after)."""
    return with_evidence(action_get(user=request.user, action_id=action_id))  # type: ignore[arg-type]


@router.patch("/actions/{action_id}", response={200: ActionDetailOut, **ERRORS})
def patch_action(request: HttpRequest, action_id: IdPath, payload: ActionPatch) -> ActionLog:
    """Edit your own action under the same rules; the edit is kept."""
    changes = payload.dict(exclude_unset=True)
    action = action_update(user=request.user, action_id=action_id, changes=changes, now=clock.now())  # type: ignore[arg-type]
    return with_evidence(action)


class _Position(TypedDict):
    latitude: Decimal | None
    longitude: Decimal | None


def _position(latitude: Decimal | None, longitude: Decimal | None) -> _Position:
    if latitude is not None and not -90 <= latitude <= 90:
        raise InvalidInput([FieldError("latitude", "out_of_range", _("Latitude must be between -90 and 90."))])
    if longitude is not None and not -180 <= longitude <= 180:
        raise InvalidInput([FieldError("longitude", "out_of_range", _("Longitude must be between -180 and 180."))])
    return {
        "latitude": None if latitude is None else round(latitude, 6),
        "longitude": None if longitude is None else round(longitude, 6),
    }


EvidenceKind = Literal["photo", "screenshot", "audio"]


@router.post("/evidence", response={201: EvidenceOut, **ERRORS})
def upload_evidence(
    request: HttpRequest,
    customer_id: Form[int],
    kind: Form[EvidenceKind],
    file: File[UploadedFile],
    latitude: Form[Decimal | None] = None,
    longitude: Form[Decimal | None] = None,
) -> tuple[int, Evidence]:
    """Upload a file (multipart) before logging the action, then send its id in `evidence_ids` of
    `POST /actions`: rules can require a visit photo or a WeChat screenshot.

    Seen only by you until attached; an upload not attached within a day is deleted.
    Screenshots and recordings are read at once (`recognition`); a photo is answered once its
    original is checked and stored, and stamped in the background (`processing`). A rule that
    requires a photo is met by the upload itself.
    """
    if not 1 <= customer_id <= MAX_ID:
        raise NotFound([FieldError(None, "not_found", _("Customer not found."))])
    evidence = evidence_upload(
        user=request.user,  # type: ignore[arg-type]
        customer_id=customer_id,
        kind=kind,
        upload=file,
        now=clock.now(),
        **_position(latitude, longitude),
    )
    return 201, evidence


@router.get("/evidence/{evidence_id}", response={200: EvidenceOut, **ERRORS})
def get_evidence(request: HttpRequest, evidence_id: IdPath) -> Evidence:
    """One file's record: its checks, and the state of its reading (poll while `pending`)."""
    return evidence_get(user=request.user, evidence_id=evidence_id)  # type: ignore[arg-type]


@router.post("/actions/{action_id}/evidence", response={201: EvidenceOut, **ERRORS})
def add_evidence(
    request: HttpRequest,
    action_id: IdPath,
    kind: Form[EvidenceKind],
    file: File[UploadedFile],
    latitude: Form[Decimal | None] = None,
    longitude: Form[Decimal | None] = None,
) -> tuple[int, Evidence]:
    """Attach a visit photo, a WeChat screenshot or a call recording (multipart) to your action.

    The type is read from the content. In the background, photos get a watermarked copy and flags
    (`processing` goes from pending to done), screenshots and recordings are read (`recognition`
    goes from pending to done/failed/unavailable).
    """
    evidence = evidence_add(
        user=request.user,  # type: ignore[arg-type]
        action_id=action_id,
        kind=kind,
        upload=file,
        now=clock.now(),
        **_position(latitude, longitude),
    )
    return 201, evidence


@router.get("/actions/{action_id}/evidence", response={200: list[EvidenceOut], **ERRORS})
def list_evidence(request: HttpRequest, action_id: IdPath) -> list[Evidence]:
    """The evidence of an action you may see, in the order it arrived."""
    action = action_get(user=request.user, action_id=action_id)  # type: ignore[arg-type]
    return list(evidence_of(action=action))


@router.post("/evidence/{evidence_id}/retry", response={200: EvidenceOut, **ERRORS})
def retry_evidence(request: HttpRequest, evidence_id: IdPath) -> Evidence:
    """Read a screenshot or recording again after a failure, or once an engine is installed."""
    return evidence_retry(user=request.user, evidence_id=evidence_id, now=clock.now())  # type: ignore[arg-type]


def _stream(evidence: Evidence, which: str) -> FileResponse:
    field = evidence.derivative if which == "watermarked" else evidence.original
    if not field:
        raise NotFound([FieldError(None, "not_found", _("Evidence not found."))])
    mime = "image/jpeg" if which == "watermarked" else evidence.mime_type
    response = FileResponse(field.open("rb"), content_type=mime)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/evidence/{evidence_id}/original", response={200: None, **ERRORS})
def evidence_original(request: HttpRequest, evidence_id: IdPath) -> FileResponse:
    """The file as uploaded, byte for byte; only for users who may see the action."""
    return _stream(evidence_get(user=request.user, evidence_id=evidence_id), "original")  # type: ignore[arg-type]


@router.get("/evidence/{evidence_id}/watermarked", response={200: None, **ERRORS})
def evidence_watermarked(request: HttpRequest, evidence_id: IdPath) -> FileResponse:
    """A visit photo with its burned-in stamp (JPEG); only for users who may see the action."""
    return _stream(evidence_get(user=request.user, evidence_id=evidence_id), "watermarked")  # type: ignore[arg-type]
