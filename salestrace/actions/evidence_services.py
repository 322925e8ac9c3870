"""The writers of evidence: files uploaded for an action (photos, screenshots, recordings), their
reading by OCR / speech-to-text, and the sweeps that keep storage and rows in step."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Protocol

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, override
from django.utils.translation import gettext_lazy as _

from salestrace.actions import compute, recognition
from salestrace.actions.models import ActionEdit, ActionLog, Evidence
from salestrace.actions.selectors import action_get, evidence_get, evidence_of, may_change, photo_reused
from salestrace.core.errors import Conflict, FieldError, InvalidInput, PermissionDenied
from salestrace.customers.models import Customer
from salestrace.customers.selectors import customer_ref
from salestrace.notify.services import notify_user
from salestrace.notify.transports import Line, Message
from salestrace.org.models import User
from salestrace.org.selectors import can_log_actions

log = logging.getLogger(__name__)

_FILE_MESSAGES = {
    "empty": _("The file is empty."),
    "truncated": _("The file is damaged or incomplete; upload it again."),
}


def _file_message(code: str, kind: str) -> str:
    """What is wrong with an upload, with the limit it broke and what to send instead."""
    if code == "too_large":
        return _("The file is larger than %(mb)s MB.") % {"mb": f"{settings.EVIDENCE_MAX_BYTES / 2**20:g}"}
    if code == "too_long":
        limit = settings.EVIDENCE_MAX_AUDIO_SECONDS
        if limit % 60:
            return _("The recording is longer than %(seconds)s seconds.") % {"seconds": limit}
        return _("The recording is longer than %(minutes)s minutes.") % {"minutes": limit // 60}
    if code == "too_many_pixels":
        return _(
            "The picture has more than %(mp)s megapixels: use the camera's normal mode (not 48 MP or more) "
            "or send a smaller copy."
        ) % {"mp": f"{settings.EVIDENCE_MAX_IMAGE_PIXELS / 1e6:g}"}
    if code == "unsupported_type":
        if kind == Evidence.Kind.AUDIO:
            return str(_("This file type is not accepted here: upload a recording (WAV, MP3, M4A, OGG or AMR)."))
        return str(_("This file type is not accepted here: upload a JPEG, PNG or WebP picture."))
    return str(_FILE_MESSAGES[code])


_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "audio/wav": "wav",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/mp4": "m4a",
    "audio/amr": "amr",
    "audio/amr-wb": "awb",
}


class Upload(Protocol):
    """What the service needs of an uploaded file (Django's UploadedFile has it)."""

    @property
    def size(self) -> int | None: ...

    def read(self, size: int = ...) -> bytes: ...


def _bad_file(code: str, kind: str) -> InvalidInput:
    return InvalidInput([FieldError("file", code, _file_message(code, kind))])


def _read_upload(upload: Upload, kind: str) -> bytes:
    limit = settings.EVIDENCE_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise _bad_file("too_large", kind)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise _bad_file("too_large", kind)
    if not data:
        raise _bad_file("empty", kind)
    return data


def _may_add_evidence(user: User, action: ActionLog) -> None:
    if not may_change(user, action.rep_id):
        raise PermissionDenied(
            [FieldError(None, "forbidden", _("Only the rep who logged an action may add evidence to it."))]
        )


_HASHER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="evidence-sha256")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Received:
    """An upload read into memory within the size limit, its sha256 being made on another core."""

    upload: Upload
    kind: str
    data: bytes
    digest: Future[str]


def evidence_receive(upload: Upload, kind: str) -> Received:
    """Read an upload (refused if empty or too large) and start its sha256 on another core.

    Services take it before they look up the customer or action, so the digest (a 4.5 MB photo:
    about 2.5 ms of CPU in one call that lets go of the GIL) is made while those queries run and
    the file is checked and written. Nothing is stored.
    """
    data = _read_upload(upload, kind)
    return Received(upload=upload, kind=kind, data=data, digest=_HASHER.submit(_sha256, data))


def evidence_check(
    *,
    user: User,
    customer: Customer,
    received: Received,
    now: datetime,
    latitude: Decimal | None,
    longitude: Decimal | None,
) -> Evidence:
    """An unsaved Evidence for a received file, checked only as far as the answer needs; nothing
    is written. The type is read from the bytes, never the name. A photo is checked for its type,
    pixel count and completeness without being decoded; the worker makes the rest
    (`evidence_process`)."""
    data, kind = received.data, received.kind
    evidence = Evidence(
        customer=customer,
        uploaded_by=user,
        kind=kind,
        size=len(data),
        latitude=latitude,
        longitude=longitude,
        created_at=now,
        updated_at=now,
    )
    try:
        if kind == Evidence.Kind.AUDIO:
            evidence.mime_type = compute.sniff_audio(data)
            seconds = compute.audio_seconds(data, evidence.mime_type)
            if seconds is not None and seconds > settings.EVIDENCE_MAX_AUDIO_SECONDS:
                raise compute.BadFile("too_long")
        else:
            evidence.mime_type = compute.check_image(data, max_pixels=settings.EVIDENCE_MAX_IMAGE_PIXELS)
    except compute.BadFile as bad:
        raise _bad_file(bad.code, kind) from None
    if kind == Evidence.Kind.PHOTO:
        evidence.processing = Evidence.Processing.PENDING
    else:
        evidence.recognition = Evidence.Recognition.PENDING
    return evidence


@dataclass(frozen=True)
class Pending:
    """A checked file with its original written; its digest, made on another core meanwhile, is
    waited for only at `ready()` (a new action's files: just before their rows go into its
    transaction, `evidence_save_pending`)."""

    evidence: Evidence
    received: Received

    def ready(self) -> Evidence:
        """The Evidence, unsaved, with its digest."""
        self.evidence.sha256 = self.received.digest.result()
        return self.evidence


class _WholeContent(ContentFile):
    """A ContentFile the storage reads in one piece: the original is written in one call instead
    of 64 KB pieces (a 4.5 MB photo here: 1.3 ms instead of 1.8–2.9), and a BytesIO made from
    bytes hands them back whole without a copy."""

    DEFAULT_CHUNK_SIZE = 2**31 - 1


def evidence_write(evidence: Evidence, received: Received) -> Pending:
    """Write a checked file's original, on this thread and outside any transaction, so writers are
    not held behind it. (On a thread beside the request's, a 4.5 MB
    photo's write took 3–5 ms instead of 1.7: the request's thread runs Python most of the time,
    and the writer waits for the GIL after each step.)"""
    # An upload Django spooled to disk is moved into storage (a rename on local disk), not copied.
    upload = received.upload
    content: File[bytes] = upload if isinstance(upload, TemporaryUploadedFile) else _WholeContent(received.data)
    evidence.original.save(f"original.{_EXTENSIONS[evidence.mime_type]}", content, save=False)
    return Pending(evidence=evidence, received=received)


def evidence_stamp(evidence: Evidence) -> None:
    """The slow part of a photo, on the Evidence in memory: decode it fully, read its EXIF time and
    perceptual hash, write the stamped copy. Marks it done (flags: only what the photo alone
    tells) or, when it cannot be decoded, failed. No database write: the caller saves."""
    with evidence.original.open("rb") as f:
        data = f.read()
    local_tz = timezone.get_default_timezone()
    try:
        facts = compute.inspect_image(data, max_pixels=settings.EVIDENCE_MAX_IMAGE_PIXELS, local_tz=local_tz)
    except compute.BadFile:
        evidence.processing = Evidence.Processing.FAILED
        return
    evidence.image_hash = facts.image_hash
    evidence.taken_at = facts.taken_at.astimezone(UTC) if facts.taken_at else None
    evidence.flags = [] if facts.has_exif else ["no_exif"]
    lines = compute.watermark_lines(
        received_at=evidence.created_at.astimezone(local_tz),
        rep=str(evidence.uploaded_by),
        customer=evidence.customer.name,
        latitude=evidence.latitude,
        longitude=evidence.longitude,
        taken_at=facts.taken_at,
    )
    stamped = compute.burn_watermark(data, lines, font_path=settings.EVIDENCE_FONT_PATH)
    evidence.derivative.save("stamped.jpg", ContentFile(stamped), save=False)
    evidence.processing = Evidence.Processing.DONE


def evidence_process(*, evidence_id: int, now: datetime) -> bool:
    """The worker's part of a photo upload (`evidence_stamp`), then its flags against the action it
    backs, if any yet; False when nothing was pending.

    The decoding and stamping run outside any transaction; the result is written only if the
    photo is still pending (a second worker's copy is deleted), under the row's lock, so an
    action save attaching it either saw it done (and flagged it) or is seen here.
    """
    evidence = (
        Evidence.objects.select_related("uploaded_by", "customer")
        .filter(pk=evidence_id, processing=Evidence.Processing.PENDING)
        .first()
    )
    if evidence is None:
        return False
    try:
        evidence_stamp(evidence)
    except Exception:  # a bug or a full disk must not leave the photo "stamping" forever
        log.exception("stamping evidence %s crashed", evidence_id)
        _delete_derivative(evidence)
        evidence.processing = Evidence.Processing.FAILED
    try:
        with transaction.atomic():
            claimed = (
                Evidence.objects.select_for_update()
                .filter(pk=evidence_id, processing=Evidence.Processing.PENDING)
                .values("action_id")
                .first()
            )
            if claimed is None:
                _delete_derivative(evidence)
                return False
            if claimed["action_id"] is not None and evidence.processing == Evidence.Processing.DONE:
                action = ActionLog.objects.get(pk=claimed["action_id"])
                evidence.flags = _photo_flags(evidence, action=action, now=now)
            Evidence.objects.filter(pk=evidence_id).update(
                processing=evidence.processing,
                derivative=evidence.derivative.name or "",
                image_hash=evidence.image_hash,
                taken_at=evidence.taken_at,
                flags=evidence.flags,
                updated_at=now,
            )
    except BaseException:
        _delete_derivative(evidence)
        raise
    return True


def _delete_derivative(evidence: Evidence) -> None:
    if evidence.derivative and evidence.derivative.name:
        try:
            evidence.derivative.storage.delete(evidence.derivative.name)
        except OSError:
            log.exception("could not delete evidence file %s", evidence.derivative.name)
        evidence.derivative.name = ""


def _delete_files(evidence: Evidence) -> None:
    """Remove the stored files of an evidence row that is not (or no longer) in the database."""
    for field in (evidence.original, evidence.derivative):
        if field and field.name:
            try:
                field.storage.delete(field.name)
            except OSError:
                log.exception("could not delete evidence file %s", field.name)


def _queue_work(evidence: Evidence) -> None:
    """Queue a saved Evidence's background work (stamping, or reading) after the commit. A queue
    that cannot be reached then is logged, not raised: the row is saved, and the hourly
    `evidence_requeue_stuck` queues it again."""
    pk = evidence.pk
    if evidence.processing == Evidence.Processing.PENDING:
        transaction.on_commit(lambda: _enqueue_processing(pk), robust=True)
    if evidence.recognition == Evidence.Recognition.PENDING:
        transaction.on_commit(lambda: _enqueue_recognition(pk), robust=True)


def _store(evidence: Evidence) -> Evidence:
    """Save a prepared Evidence (queueing its background work after the commit); if the save
    fails, the files already written are deleted, so no file is left without its row."""
    try:
        with transaction.atomic():
            evidence.save()
            _queue_work(evidence)
    except BaseException:
        _delete_files(evidence)
        raise
    return evidence


def evidence_save_pending(*, action: ActionLog, pending: Sequence[Pending]) -> None:
    """Save files written for a new action (`evidence_write`) as its own, in its transaction;
    their background work is queued after the commit."""
    for item in pending:
        evidence = item.ready()
        evidence.action = action
        evidence.save()
        _queue_work(evidence)


def evidence_keep_pending(pending: Sequence[Pending]) -> list[Evidence]:
    """Store files written for an action that was not saved (refused, or a retry answered with
    the first one), unattached, so a corrected entry attaches them without a second upload."""
    kept = []
    for n, item in enumerate(pending):
        evidence = item.ready()
        # A row the rolled-back transaction had inserted is inserted again, unattached.
        evidence.pk, evidence.action = None, None
        evidence._state.adding = True
        try:
            kept.append(_store(evidence))  # deletes its own files if it fails
        except BaseException:
            evidence_discard_pending(pending[n + 1 :])
            raise
    return kept


def evidence_discard_pending(pending: Sequence[Pending]) -> None:
    """Delete the files written for an action whose save failed, unless their row was committed
    after all (the failure came after the commit). When that cannot be told, the files are left
    to `evidence_sweep_orphan_files`."""
    for item in pending:
        evidence = item.evidence
        try:
            committed = evidence.pk is not None and Evidence.objects.filter(pk=evidence.pk).exists()
        except Exception:
            log.exception("could not tell whether evidence %s was saved; its files are left to the sweep", evidence.pk)
            continue
        if not committed:
            _delete_files(evidence)


def evidence_upload(
    *,
    user: User,
    customer_id: int,
    kind: str,
    upload: Upload,
    now: datetime,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    kept: bool = False,
) -> Evidence:
    """Upload a file for an action not saved yet; attach it with `action_log(evidence_ids=...)`.

    Only someone who may log actions on the customer may upload for it. Screenshots and
    recordings start being read at once, so the text may be there when the action is saved.
    A `kept` upload (a check-in's photo) is not swept when no action takes it.
    """
    if not can_log_actions(user):
        raise PermissionDenied([FieldError(None, "forbidden", _("Your role may not log sales actions."))])
    received = evidence_receive(upload, kind)
    customer = customer_ref(user=user, customer_id=customer_id, for_write=True)
    evidence = evidence_check(
        user=user, customer=customer, received=received, now=now, latitude=latitude, longitude=longitude
    )
    evidence.kept = kept
    return _store(evidence_write(evidence, received).ready())


def evidence_add(
    *,
    user: User,
    action_id: int,
    kind: str,
    upload: Upload,
    now: datetime,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
) -> Evidence:
    """Attach a photo, screenshot or recording to an action the user logged.

    Photos are stamped and flagged by the worker (`evidence_process`); screenshots and
    recordings are queued for OCR / speech-to-text. Both are queued after the commit.
    """
    received = evidence_receive(upload, kind)
    action = action_get(user=user, action_id=action_id)
    _may_add_evidence(user, action)
    evidence = evidence_check(
        user=user, customer=action.customer, received=received, now=now, latitude=latitude, longitude=longitude
    )
    evidence.action = action
    return _store(evidence_write(evidence, received).ready())


def _photo_flags(evidence: Evidence, *, action: ActionLog, now: datetime) -> list[str]:
    reused = photo_reused(
        action_id=action.pk,
        rep_id=evidence.uploaded_by_id,
        sha256=evidence.sha256,
        image_hash=evidence.image_hash,
        max_distance=settings.EVIDENCE_IMAGE_HASH_DISTANCE,
        since=now - timedelta(days=90),
    )
    return compute.photo_flags(
        has_exif="no_exif" not in evidence.flags,
        taken_at=evidence.taken_at,
        occurred_at=action.occurred_at,
        tolerance=timedelta(minutes=settings.EVIDENCE_EXIF_TOLERANCE_MINUTES),
        reused=reused,
    )


def evidence_attach(*, action: ActionLog, evidence: list[Evidence], now: datetime) -> None:
    """Attach locked, unattached uploads to a new action: photo checks against the action (for a
    photo still being stamped, the worker makes them once it is done), and text already read
    fills an empty summary."""
    Evidence.objects.filter(pk__in=[e.pk for e in evidence]).update(action=action, updated_at=now)
    photos = [e for e in evidence if e.kind == Evidence.Kind.PHOTO]
    stamped = [p for p in photos if p.processing == Evidence.Processing.DONE]
    for photo in stamped:
        photo.flags = _photo_flags(photo, action=action, now=now)
    if stamped:
        Evidence.objects.bulk_update(stamped, ["flags"])
    read = [e.recognised_text for e in evidence if e.recognition == Evidence.Recognition.DONE and e.recognised_text]
    if read:
        _fill_summary(action, text="\n".join(read), now=now)
    if len(photos) < len(evidence):  # screenshots or recordings: one may already have failed to be read
        _notify_if_summary_needed(action, now=now)


SWEEP_BATCH = 500


def evidence_sweep_unattached(*, now: datetime) -> int:
    """Delete uploads no action took within EVIDENCE_UNATTACHED_HOURS: the row, then its files
    once the deletion is committed (a file is never removed while its row may survive). Returns
    rows deleted; a rerun finds nothing."""
    cutoff = now - timedelta(hours=settings.EVIDENCE_UNATTACHED_HOURS)
    deleted = 0
    while True:
        with transaction.atomic():
            batch = list(
                Evidence.objects.select_for_update(skip_locked=True)
                .filter(action__isnull=True, kept=False, created_at__lt=cutoff)
                .order_by("created_at", "pk")[:SWEEP_BATCH]
            )
            if not batch:
                return deleted
            Evidence.objects.filter(pk__in=[e.pk for e in batch], action__isnull=True, kept=False).delete()
            transaction.on_commit(partial(_delete_files_of, batch))
        deleted += len(batch)


EVIDENCE_DIRECTORY = "evidence"


def evidence_sweep_orphan_files(*, now: datetime) -> int:
    """Delete stored evidence files that no row names (original or stamped copy) and that are
    older than EVIDENCE_ORPHAN_GRACE_HOURS: left by a process killed between writing a file and
    saving its row. A younger file is never touched, as its row may be in a transaction not yet
    committed. Works on any storage that lists (`listdir`): local files or an S3 bucket. Returns
    files deleted; a rerun finds nothing."""
    storage = Evidence._meta.get_field("original").storage
    cutoff = now - timedelta(hours=settings.EVIDENCE_ORPHAN_GRACE_HOURS)
    deleted = 0
    for names in _stored_evidence_files(storage):
        named = set(
            Evidence.objects.filter(Q(original__in=names) | Q(derivative__in=names)).values_list(
                "original", "derivative"
            )
        )
        known = {name for pair in named for name in pair}
        for name in names:
            if name in known:
                continue
            try:
                if storage.get_modified_time(name) >= cutoff:
                    continue
                storage.delete(name)
            except (OSError, NotImplementedError):
                log.exception("could not sweep evidence file %s", name)
                continue
            log.warning("deleted evidence file %s: no row names it", name)
            deleted += 1
    return deleted + _sweep_upload_spool(cutoff)


def _sweep_upload_spool(cutoff: datetime) -> int:
    """Delete the spooled uploads (FILE_UPLOAD_TEMP_DIR) a killed request left behind: a request
    moves or deletes its own, so one older than the grace period belongs to no one."""
    folder = settings.FILE_UPLOAD_TEMP_DIR
    if not folder:
        return 0
    deleted = 0
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            if not entry.is_file() or datetime.fromtimestamp(entry.stat().st_mtime, UTC) >= cutoff:
                continue
            os.remove(entry.path)
        except FileNotFoundError:
            continue
        log.warning("deleted spooled upload %s: its request is gone", entry.name)
        deleted += 1
    return deleted


def _stored_evidence_files(storage: Storage) -> Iterator[list[str]]:
    """The names under evidence/ (evidence/<customer id>/<name>), a directory at a time, in
    batches small enough for one `IN` query."""
    try:
        directories, files = storage.listdir(EVIDENCE_DIRECTORY)
    except FileNotFoundError:
        return
    folders = [EVIDENCE_DIRECTORY, *(f"{EVIDENCE_DIRECTORY}/{d}" for d in sorted(directories))]
    for folder in folders:
        names = files if folder == EVIDENCE_DIRECTORY else storage.listdir(folder)[1]
        paths = [f"{folder}/{name}" for name in sorted(names)]
        for start in range(0, len(paths), SWEEP_BATCH):
            yield paths[start : start + SWEEP_BATCH]


STUCK_AFTER = timedelta(minutes=15)


def evidence_requeue_stuck(*, now: datetime) -> int:
    """Queue again the readings and stampings still pending after STUCK_AFTER: their task was lost
    (the process died between the commit and the enqueue, or the queue was wiped). Doing the work
    twice is harmless: only the first result is written. Returns how many were queued."""
    queued = 0
    for pending, enqueue in (
        (Q(recognition=Evidence.Recognition.PENDING), _enqueue_recognition),
        (Q(processing=Evidence.Processing.PENDING), _enqueue_processing),
    ):
        stuck = list(
            Evidence.objects.filter(pending, updated_at__lt=now - STUCK_AFTER)
            .order_by("pk")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        for pk in stuck:
            # Touched first, so a slow queue is not flooded with the same file every hour.
            if Evidence.objects.filter(pending, pk=pk).update(updated_at=now):
                enqueue(pk)
        queued += len(stuck)
    return queued


def _delete_files_of(evidence: list[Evidence]) -> None:
    for item in evidence:
        _delete_files(item)


def _enqueue_processing(evidence_id: int) -> None:
    from salestrace.actions.tasks import evidence_process_task

    evidence_process_task(evidence_id)


def _enqueue_recognition(evidence_id: int) -> None:
    from salestrace.actions.tasks import evidence_recognise_task

    evidence_recognise_task(evidence_id)


def evidence_retry(*, user: User, evidence_id: int, now: datetime) -> Evidence:
    """Queue recognition again after a failure or once an engine is installed."""
    with transaction.atomic():
        evidence = evidence_get(user=user, evidence_id=evidence_id)
        owner = evidence.action.rep_id if evidence.action else evidence.uploaded_by_id
        if not may_change(user, owner):
            raise PermissionDenied(
                [FieldError(None, "forbidden", _("Only the rep who logged an action may add evidence to it."))]
            )
        if not evidence.retryable:
            raise Conflict(
                [FieldError(None, "not_retryable", _("Only a failed or unavailable recognition can be retried."))]
            )
        Evidence.objects.filter(pk=evidence.pk).update(
            recognition=Evidence.Recognition.PENDING, recognition_error="", updated_at=now
        )
        transaction.on_commit(lambda: _enqueue_recognition(evidence.pk))
    evidence.refresh_from_db()
    return evidence


def _recognise(evidence: Evidence) -> str:
    with evidence.original.open("rb") as f:
        data = f.read()
    if evidence.kind == Evidence.Kind.SCREENSHOT:
        return recognition.ocr_image(data)
    transcriber = recognition.configured_transcriber()
    return transcriber.transcribe(
        data, filename=(evidence.original.name or "audio").rsplit("/", 1)[-1], mime_type=evidence.mime_type
    )


def evidence_recognise(*, evidence_id: int, now: datetime) -> bool:
    """Read a pending screenshot (OCR) or recording (speech-to-text); False when nothing was pending.

    The engine runs outside any transaction (it may take a minute); the result is written only if
    the evidence is still pending, so a rerun or a second worker changes nothing twice. The text
    fills the action's summary when the rep left it empty, as an edit by the system.
    """
    evidence = Evidence.objects.filter(pk=evidence_id, recognition=Evidence.Recognition.PENDING).first()
    if evidence is None:
        return False
    status, text, error = Evidence.Recognition.DONE, "", ""
    try:
        text = _recognise(evidence)
    except recognition.RecognitionUnavailable as exc:
        status, error = Evidence.Recognition.UNAVAILABLE, str(exc)
    except recognition.RecognitionFailed as exc:
        status, error = Evidence.Recognition.FAILED, str(exc)
    except Exception as exc:  # an engine bug must not leave the evidence pending forever
        log.exception("recognition of evidence %s crashed", evidence_id)
        status, error = Evidence.Recognition.FAILED, f"{exc.__class__.__name__}: {exc}"[:1000]
    with transaction.atomic():
        claimed = Evidence.objects.filter(pk=evidence_id, recognition=Evidence.Recognition.PENDING).update(
            recognition=status, recognised_text=text, recognition_error=error, updated_at=now
        )
        if not claimed:
            return False
        # Read after the update, which waits for an action save attaching this file: either that
        # save saw the text, or this sees the action.
        action_id = Evidence.objects.filter(pk=evidence_id).values_list("action_id", flat=True).first()
        if action_id is not None:
            action = (
                ActionLog.objects.select_related("rep", "customer").select_for_update(of=("self",)).get(pk=action_id)
            )
            if status == Evidence.Recognition.DONE and text:
                _fill_summary(action, text=text, now=now)
            _notify_if_summary_needed(action, now=now)
    return True


def _fill_summary(action: ActionLog, *, text: str, now: datetime) -> None:
    """Put recognised text into an empty summary, as an edit by the system; `action` is locked
    (or new) in the caller's transaction."""
    if action.summary.strip():
        return
    summary = text[: ActionLog._meta.get_field("summary").max_length or 5000]
    ActionEdit.objects.create(
        action=action, edited_by=None, edited_at=now, before={"summary": action.summary}, after={"summary": summary}
    )
    action.summary = summary
    action.updated_at = now
    action.edit_count += 1
    action.save(update_fields=["summary", "updated_at", "edit_count"])


SUMMARY_SOURCE = "evidence"


def _notify_if_summary_needed(action: ActionLog, *, now: datetime) -> None:
    """Tell the rep, in the inbox and on their channels, when the files of an action with no
    summary could not be read: the summary must be written by hand (nothing is invented)."""
    files = list(evidence_of(action=action))
    if not compute.summary_needed(action.summary, [(e.kind, e.recognition, e.recognised_text) for e in files]):
        return
    rep = action.rep
    link = settings.SALESTRACE_BASE_URL + reverse("actions:summary", args=[action.pk])
    with override(rep.message_language):
        when = timezone.localtime(action.occurred_at)
        message = Message(
            title=gettext("Summary needed: %(customer)s") % {"customer": action.customer.name},
            lines=(
                Line(
                    gettext(
                        "The screenshot or recording of %(when)s could not be read. Please write the summary by hand."
                    )
                    % {"when": f"{when:%m-%d %H:%M}"},
                    link,
                ),
            ),
            link=link,
            mention=str(rep),
            mention_id=rep.wecom_userid,
        )
    # Once per set of unreadable files: a retry that fails again tells the rep nothing new.
    unread = ",".join(str(e.pk) for e in files if e.retryable)
    notify_user(
        user=rep,
        message=message,
        dedupe_key=f"summary-needed:{action.pk}:{hashlib.sha256(unread.encode()).hexdigest()[:16]}",
        source=SUMMARY_SOURCE,
        now=now,
    )
