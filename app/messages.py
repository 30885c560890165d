"""The one message catalogue: every text the API answers in a person's language, keyed by a
message id, in English and Chinese (中文).

- ``Message(id, params)`` is a text not yet rendered; ``render(lang)`` fills its template.
  The error hierarchy (``app.errors``) carries one as its detail, and each error class names
  its title's id, so a problem+json body is rendered once, in the caller's language.
- ``preferred_language(accept_language)`` reads an ``Accept-Language`` header (RFC 9110
  §12.5.4, q-values included) and answers ``"zh"`` or ``"en"`` (the default).
- ``translate_stored(text, lang)`` renders a text that was stored in English from one of
  these templates (a ticket's routing reason) in ``lang``: the English templates are
  matched and their parameters carried over; a text no template made comes back unchanged.

Parameters are rendered as given (``str``); a parameter that is itself a ``Message`` is
rendered in the same language.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

Lang = Literal["en", "zh"]
LANGUAGES: tuple[Lang, ...] = ("en", "zh")
DEFAULT_LANGUAGE: Lang = "en"

CATALOGUE: dict[str, dict[Lang, str]] = {
    # --- problem titles: one per class of app.errors (and the statuses Starlette raises) ---
    "title.internal": {"en": "Internal error", "zh": "服务器内部错误"},
    "title.invalid-input": {"en": "Invalid input", "zh": "输入无效"},
    "title.idempotency-key-reused": {"en": "Idempotency-Key reused with a different request",
                                     "zh": "Idempotency-Key 已用于另一个不同的请求"},
    "title.bad-request": {"en": "Bad request", "zh": "请求无法读取"},
    "title.not-authenticated": {"en": "Not authenticated", "zh": "未登录或凭据无效"},
    "title.forbidden": {"en": "Forbidden", "zh": "无权操作"},
    "title.password-change-required": {"en": "Password change required",
                                       "zh": "需要先修改密码"},
    "title.not-found": {"en": "Not found", "zh": "未找到"},
    "title.method-not-allowed": {"en": "Method not allowed", "zh": "不支持该请求方法"},
    "title.conflict": {"en": "Conflict", "zh": "状态冲突"},
    "title.invalid-transition": {"en": "Transition not allowed", "zh": "当前状态不允许此操作"},
    "title.not-your-turn": {"en": "Not your turn", "zh": "尚未轮到您（请先签收，或未被吹哨召集）"},
    "title.gone": {"en": "Gone", "zh": "已失效"},
    "title.precondition-failed": {"en": "Precondition failed", "zh": "版本已变更（前提条件不满足）"},
    "title.precondition-required": {"en": "Precondition required", "zh": "缺少前提条件（If-Match）"},
    "title.payload-too-large": {"en": "Payload too large", "zh": "内容过大"},
    "title.unsupported-media-type": {"en": "Unsupported media type", "zh": "不支持的内容类型"},
    "title.too-many-requests": {"en": "Too many requests", "zh": "请求过于频繁"},
    "title.database-unavailable": {"en": "Service unavailable", "zh": "服务暂不可用"},
    "title.error": {"en": "Error", "zh": "错误"},
    # --- details ---------------------------------------------------------------------------
    "error.route_not_found": {"en": "Not Found", "zh": "没有这个地址"},
    "error.method_not_allowed": {"en": "Method Not Allowed", "zh": "该地址不支持此请求方法"},
    "error.database_unavailable": {
        "en": "the database cannot be reached right now; retry the request",
        "zh": "暂时无法连接数据库，请稍后重试"},
    "error.concurrent_change": {"en": "the change conflicts with a concurrent change; retry",
                                "zh": "与他人同时进行的修改冲突，请重试"},
    "error.invalid_request": {"en": "invalid request", "zh": "请求无效"},
    "error.credentials_missing": {"en": "send a Bearer access token or an X-API-Key header",
                                  "zh": "请提供 Bearer 访问令牌或 X-API-Key 请求头"},
    "error.bad_credentials": {"en": "invalid username or password", "zh": "用户名或密码错误"},
    "error.account_disabled": {"en": "this account is disabled", "zh": "该账号已停用"},
    "error.token_expired": {"en": "{what} expired", "zh": "{what}已过期"},
    "error.token_invalid": {"en": "invalid {what}: {reason}", "zh": "{what}无效：{reason}"},
    "error.too_many_logins": {
        "en": "too many failed logins for this account; retry in {seconds} s",
        "zh": "该账号登录失败次数过多，请 {seconds} 秒后重试"},
    "error.role_forbidden": {"en": "role {role} may not do this; allowed: {allowed}",
                             "zh": "角色 {role} 无权执行此操作；允许的角色：{allowed}"},
    "error.password_change_required": {
        "en": "this account's initial password must be changed first: "
              "POST /api/v1/auth/password",
        "zh": "请先修改初始密码（POST /api/v1/auth/password）后再使用"},
    "error.wrong_current_password": {"en": "the current password is wrong",
                                     "zh": "当前密码不正确"},
    "error.api_key_no_password": {"en": "an API key has no password to change",
                                  "zh": "API 密钥没有可修改的密码"},
    "error.same_password": {"en": "the new password must differ from the current one",
                            "zh": "新密码不能与当前密码相同"},
    "error.no_ticket": {"en": "no ticket {id}", "zh": "工单 {id} 不存在或无权查看"},
    "error.no_user": {"en": "no user {id}", "zh": "用户 {id} 不存在"},
    "error.no_department": {"en": "no department {code!r}", "zh": "部门 {code} 不存在"},
    "error.no_jurisdiction": {"en": "no jurisdiction {code!r}",
                              "zh": "辖区 {code} 不存在或不在您的范围内"},
    "error.no_jurisdiction_in_scope": {"en": "no jurisdiction {code!r} in your scope",
                                       "zh": "辖区 {code} 不存在或不在您的范围内"},
    "error.no_item": {"en": "no item {code!r} in the current matrix",
                      "zh": "当前事项清单中没有事项 {code}"},
    "error.no_matrix": {"en": "no matrix has been imported yet", "zh": "尚未导入事项清单"},
    "error.no_matrix_version": {"en": "no matrix version {id}", "zh": "事项清单版本 {id} 不存在"},
    "error.no_api_key": {"en": "no API key {id}", "zh": "API 密钥 {id} 不存在"},
    "error.no_whistle": {"en": "no whistle {id}", "zh": "吹哨 {id} 不存在或无权查看"},
    "error.no_webhook": {"en": "no webhook {id}", "zh": "Webhook {id} 不存在"},
    "error.no_street": {"en": "no street {code!r}", "zh": "街道 {code} 不存在"},
    "error.no_community_or_grid": {"en": "no community or grid {code!r}",
                                   "zh": "社区或网格 {code} 不存在或无权查看"},
    "error.no_department_in_scope": {"en": "no department {code!r} in your scope",
                                     "zh": "部门 {code} 不存在或不在您的范围内"},
    "error.no_department_of_yours": {"en": "no department {code!r} of yours",
                                     "zh": "部门 {code} 不存在或不是您的部门"},
    "error.already_claimed": {"en": "ticket {id} is already claimed by {holder}",
                              "zh": "工单 {id} 已被 {holder} 签收"},
    "error.someone_else": {"en": "someone else", "zh": "他人"},
    "error.transition": {
        "en": "cannot {action} a ticket that is {status}; allowed now: {allowed}",
        "zh": "工单当前状态为「{status}」，不能执行 {action}；当前可执行：{allowed}"},
    "error.action_forbidden": {"en": "you may not {action} this ticket (allowed: {roles})",
                               "zh": "您无权对该工单执行 {action}（允许的角色：{roles}）"},
    "error.version_stale": {"en": "ticket {id} is at version {current}, not {given}; reload it",
                            "zh": "工单 {id} 已是第 {current} 版，不是第 {given} 版；请重新加载"},
    "error.lost_race": {
        "en": "ticket {id} changed while you were acting (now {status}, version {version}); "
              "reload and retry",
        "zh": "您操作期间工单 {id} 已被修改（现为「{status}」，第 {version} 版）；请重新加载后重试"},
    "error.if_match_required": {
        "en": "send If-Match with the ETag you read, so that a stale edit cannot overwrite "
              "someone else's change",
        "zh": "请在 If-Match 中提供您读取到的 ETag，以免旧版本覆盖他人的修改"},
    "error.reason_required": {"en": "a reason is required", "zh": "请填写原因"},
    "error.result_required": {"en": "the result or progress text is required",
                              "zh": "请填写处置结果或进展"},
    "error.photo_required": {"en": "at least one photo is required", "zh": "至少需要一张照片"},
    "error.item_photo_required": {"en": "item {code} requires a photo of the result",
                                  "zh": "事项 {code} 须上传处置结果照片"},
    "error.merge_target_required": {"en": "the ticket to merge into is required",
                                    "zh": "请指定要合并到的工单"},
    "error.assignee_required": {"en": "the new assignee is required", "zh": "请指定新的处理人"},
    "error.minutes_required": {"en": "how many minutes more are needed",
                               "zh": "请填写需要延长的分钟数"},
    "error.rating_values": {"en": "rating must be one of {values}",
                            "zh": "评价须为以下之一：{values}"},
    "error.new_routing_required": {"en": "give another item or a department",
                                   "zh": "请指定新的事项或部门"},
    "error.file_too_large": {"en": "the file is larger than {limit} bytes",
                             "zh": "文件超过 {limit} 字节上限"},
    "error.unsupported_media": {"en": "unsupported file type {kind}",
                                "zh": "不支持的文件类型 {kind}"},
    "error.import_rows": {"en": "{count} row(s) are wrong; nothing was imported",
                          "zh": "{count} 行有误，未导入任何内容"},
    "error.import_file": {"en": "cannot read the file: {reason}", "zh": "无法读取文件：{reason}"},
    "error.import_empty": {"en": "the file has no rows", "zh": "文件中没有数据行"},
    "error.import_columns": {"en": "missing column(s): {columns}", "zh": "缺少列：{columns}"},
    "error.not_utf8": {
        "en": "the file is not UTF-8 text (Excel on Chinese Windows saves plain 'CSV' as GBK): "
              "in Excel, save it as 'CSV UTF-8 (逗号分隔)' and import it again",
        "zh": "文件不是 UTF-8 编码（中文 Windows 上的 Excel 把普通“CSV”存为 GBK）：请在 Excel 中"
              "另存为“CSV UTF-8（逗号分隔）”后重新导入"},
    # --- the whistle (吹哨) -------------------------------------------------------------
    "whistle.already_open_since": {
        "en": "ticket {id} already has an open whistle ({whistle}), blown at {at}",
        "zh": "工单 {id} 已有未结束的吹哨（{whistle}），吹哨时间 {at}"},
    "whistle.already_open": {"en": "ticket {id} already has an open whistle",
                             "zh": "工单 {id} 已有未结束的吹哨"},
    "whistle.no_co_departments": {
        "en": "item {code} names no co-handling department: name the departments to summon",
        "zh": "事项 {code} 没有协办部门：请指定要召集的部门"},
    "whistle.not_summoned": {
        "en": "your department is not summoned by an open whistle on this ticket",
        "zh": "您的部门未被该工单的吹哨召集"},
    "whistle.already_reported": {"en": "your department has already reported in to this whistle",
                                 "zh": "您的部门已对该吹哨报到"},
    # --- users -------------------------------------------------------------------------
    "user.integration_role": {
        "en": "integration clients are not users: create an API key for them "
              "(POST /api/v1/admin/api-keys)",
        "zh": "集成客户端不是用户：请为其创建 API 密钥（POST /api/v1/admin/api-keys）"},
    "user.unknown_role": {"en": "unknown role {role!r}; one of: {roles}",
                          "zh": "未知角色 {role}；可选：{roles}"},
    "user.username_rule": {
        "en": "2–64 characters: lower-case letters, digits, '_', '.' or '-', starting with a "
              "letter or digit",
        "zh": "2–64 个字符：小写字母、数字、'_'、'.' 或 '-'，以字母或数字开头"},
    "user.phone_rule": {"en": "a mainland mobile (11 digits, 1…) or a landline (0…, 10–12 digits)",
                        "zh": "应为大陆手机号（1 开头，11 位）或固定电话（0 开头，10–12 位）"},
    "user.display_name_rule": {"en": "1–100 characters", "zh": "1–100 个字符"},
    "user.role_has_no_field": {"en": "a {role} has no {field}", "zh": "角色 {role} 不设 {field}"},
    "user.needs_department": {"en": "a {role} needs a department_code",
                              "zh": "角色 {role} 需要部门（department_code）"},
    "user.needs_grid": {"en": "a grid_worker needs at least one grid",
                        "zh": "网格员至少需要一个网格"},
    "user.no_grid": {"en": "no grid {code!r}", "zh": "网格 {code} 不存在"},
    "user.needs_node": {"en": "a {role} needs {what} (scope_code)",
                        "zh": "角色 {role} 需要{what}（scope_code）"},
    "user.no_node": {"en": "no node {code!r}", "zh": "辖区节点 {code} 不存在"},
    "user.wrong_level": {"en": "{code!r} is a {level}; a {role} needs {what}",
                         "zh": "{code} 是{level}；角色 {role} 需要{what}"},
    "user.taken": {"en": "username {name!r} is taken", "zh": "用户名 {name} 已被占用"},
    "user.duplicate_row": {"en": "username {name!r} is also on row {row}",
                           "zh": "用户名 {name} 与第 {row} 行重复"},
    "user.password_too_short": {"en": "a password needs at least {n} characters",
                                "zh": "密码至少 {n} 个字符"},
    "user.password_too_long": {"en": "a password has at most {n} characters",
                               "zh": "密码至多 {n} 个字符"},
    "scope.a_community": {"en": "a community", "zh": "一个社区"},
    "scope.a_street": {"en": "a street", "zh": "一个街道"},
    "scope.a_grid": {"en": "a grid", "zh": "一个网格"},
    "scope.a_node": {"en": "a node of the tree", "zh": "一个辖区节点"},
    "level.street": {"en": "street", "zh": "街道"},
    "level.community": {"en": "community", "zh": "社区"},
    "level.grid": {"en": "grid", "zh": "网格"},
    # --- ticket states -----------------------------------------------------------------
    "status.self_handling": {"en": "self_handling", "zh": "网格自处"},
    "status.dispatched": {"en": "dispatched", "zh": "待签收"},
    "status.claimed": {"en": "claimed", "zh": "已签收"},
    "status.in_progress": {"en": "in_progress", "zh": "处置中"},
    "status.suspended": {"en": "suspended", "zh": "挂起"},
    "status.resolved": {"en": "resolved", "zh": "已处置待核查"},
    "status.rework": {"en": "rework", "zh": "返工"},
    "status.returned": {"en": "returned", "zh": "已退单"},
    "status.closed": {"en": "closed", "zh": "已结案"},
    "status.cancelled": {"en": "cancelled", "zh": "已作废"},
    # --- validation (pydantic's error types; anything else keeps pydantic's English) -------
    "validation.missing": {"en": "Field required", "zh": "缺少必填项"},
    "validation.extra_forbidden": {"en": "Extra inputs are not permitted", "zh": "不允许的多余字段"},
    "validation.string_too_short": {"en": "String should have at least {min_length} characters",
                                    "zh": "至少 {min_length} 个字符"},
    "validation.string_too_long": {"en": "String should have at most {max_length} characters",
                                   "zh": "至多 {max_length} 个字符"},
    "validation.string_pattern_mismatch": {"en": "String should match pattern '{pattern}'",
                                           "zh": "格式不符（应匹配 {pattern}）"},
    "validation.int_parsing": {"en": "Input should be a valid integer", "zh": "应为整数"},
    "validation.int_type": {"en": "Input should be a valid integer", "zh": "应为整数"},
    "validation.float_parsing": {"en": "Input should be a valid number", "zh": "应为数字"},
    "validation.bool_parsing": {"en": "Input should be a valid boolean", "zh": "应为 true 或 false"},
    "validation.string_type": {"en": "Input should be a valid string", "zh": "应为字符串"},
    "validation.enum": {"en": "Input should be {expected}", "zh": "应为以下之一：{expected}"},
    "validation.literal_error": {"en": "Input should be {expected}", "zh": "应为以下之一：{expected}"},
    "validation.greater_than_equal": {"en": "Input should be greater than or equal to {ge}",
                                      "zh": "应大于或等于 {ge}"},
    "validation.less_than_equal": {"en": "Input should be less than or equal to {le}",
                                   "zh": "应小于或等于 {le}"},
    "validation.datetime_from_date_parsing": {"en": "Input should be a valid datetime",
                                              "zh": "应为有效的日期时间"},
    "validation.datetime_parsing": {"en": "Input should be a valid datetime",
                                    "zh": "应为有效的日期时间"},
    "validation.date_from_datetime_parsing": {"en": "Input should be a valid date",
                                              "zh": "应为有效的日期"},
    "validation.json_invalid": {"en": "JSON decode error", "zh": "JSON 格式错误"},
    # --- routing reasons (stored in English on the ticket; translated when read) ----------
    "routing.self_handled": {
        "en": "self-handled in the grid: item {item} allows on-the-spot handling",
        "zh": "网格自处：事项 {item} 允许网格员现场处置"},
    "routing.grid": {"en": "item {item} is handled at grid level: queued for the grid",
                     "zh": "事项 {item} 由网格办理：进入网格队列"},
    "routing.community": {
        "en": "item {item} is handled at community level: queued for the community",
        "zh": "事项 {item} 由社区办理：进入社区队列"},
    "routing.street": {
        "en": "item {item} is handled by department {department} at street level: "
              "queued for that department",
        "zh": "事项 {item} 由街道层级的部门 {department} 办理：进入该部门队列"},
    "routing.rerouted": {"en": "rerouted: {reason}", "zh": "改派：{reason}"},
    "routing.rerouted_department": {"en": "rerouted to department {department}",
                                    "zh": "改派至部门 {department}"},
    "routing.triage": {
        "en": "awaiting triage (待分拨): no confident suggestion (best guess {item} at {score}); "
              "a street dispatcher routes it",
        "zh": "待分拨：未能可靠识别事项（最可能为 {item}，置信度 {score}），由街道调度员分拨"},
}


@dataclass(frozen=True, slots=True)
class Message:
    """A catalogue text with its parameters, rendered when the language is known."""

    id: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: Lang = DEFAULT_LANGUAGE) -> str:
        return render(self.id, lang, **self.params)

    def __str__(self) -> str:
        return self.render(DEFAULT_LANGUAGE)


def M(message_id: str, **params: Any) -> Message:  # noqa: N802  (reads as a constructor)
    """``M("error.no_ticket", id=7)``: a message, checked against the catalogue at once."""
    if message_id not in CATALOGUE:
        raise KeyError(f"no message {message_id!r} in the catalogue")
    return Message(message_id, params)


def render(message_id: str, lang: Lang = DEFAULT_LANGUAGE, **params: Any) -> str:
    texts = CATALOGUE[message_id]
    values = {k: (v.render(lang) if isinstance(v, Message) else v) for k, v in params.items()}
    return texts.get(lang, texts[DEFAULT_LANGUAGE]).format(**values)


# --- Accept-Language --------------------------------------------------------------------

_RANGE = re.compile(r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def _quality(raw: str | None) -> float | None:
    if raw is None:
        return 1.0
    try:
        q = float(raw)
    except ValueError:
        return None
    return q if 0.0 <= q <= 1.0 else None


def preferred_language(accept_language: str | None) -> Lang:
    """``zh`` when the client prefers Chinese to English, else ``en``.

    Each range's q-value (default 1) is read; a language gets the q of its best-matching
    range (``zh-CN``, ``zh-Hant`` and ``zh`` are Chinese; ``*`` gives both its q); q=0 means
    "not acceptable". Chinese wins only with a higher q than English, or an equal q from a
    range listed earlier. A header that cannot be read counts as absent."""
    best: dict[Lang, tuple[float, int]] = {}
    wildcard: tuple[float, int] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        match = _RANGE.match(part)
        if not match:
            continue
        tag, q = match.group(1).lower(), _quality(match.group(2))
        if q is None:
            continue
        if tag == "*":
            wildcard = wildcard or (q, position)
            continue
        primary = tag.split("-")[0]
        if primary in LANGUAGES and primary not in best:
            best[primary] = (q, position)  # type: ignore[index]
    for lang in LANGUAGES:
        if lang not in best and wildcard is not None:
            best[lang] = wildcard
    zh, en = best.get("zh"), best.get("en")
    if zh is None or zh[0] <= 0:
        return "en"
    if en is None or en[0] <= 0:
        return "zh"
    return "zh" if (zh[0], -zh[1]) > (en[0], -en[1]) else "en"


# --- texts stored in English ------------------------------------------------------------

_STORED_PREFIX = "routing."


@cache
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    found = []
    for message_id, texts in CATALOGUE.items():
        if not message_id.startswith(_STORED_PREFIX):
            continue
        pattern = ""
        for literal, name, _spec, _conv in string.Formatter().parse(texts["en"]):
            pattern += re.escape(literal)
            if name:
                pattern += f"(?P<{name}>.+?)"
        found.append((message_id, re.compile(f"^{pattern}$", re.DOTALL)))
    return tuple(found)


def translate_stored(text: str | None, lang: Lang) -> str | None:
    """``text``, made from an English routing template, rendered in ``lang``."""
    if text is None or lang == "en":
        return text
    for message_id, pattern in _patterns():
        match = pattern.match(text)
        if match:
            params = {k: (translate_stored(v, lang) if k == "reason" else v)
                      for k, v in match.groupdict().items()}
            return render(message_id, lang, **params)
    return text
