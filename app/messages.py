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
    "title.live-unavailable": {"en": "Live queues unavailable", "zh": "实时队列暂不可用"},
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
    # --- issue 18: the remaining error sites -------------------------------------------
    "token.access": {"en": "access token", "zh": "访问令牌"},
    "token.stream": {"en": "stream ticket", "zh": "实时推送票据"},
    "error.stream_ticket_no_kind": {"en": "invalid stream ticket: no caller kind",
                                    "zh": "实时推送票据无效：缺少调用方类型"},
    "error.token_unknown_role": {"en": "token names an unknown role", "zh": "令牌中的角色无效"},
    "error.refresh_unknown": {"en": "unknown refresh token", "zh": "刷新令牌无效"},
    "error.refresh_reused": {"en": "refresh token already used or revoked; sign in again",
                             "zh": "刷新令牌已被使用或已撤销，请重新登录"},
    "error.refresh_expired": {"en": "refresh token expired; sign in again",
                              "zh": "刷新令牌已过期，请重新登录"},
    "error.api_key_malformed": {"en": "malformed API key", "zh": "API 密钥格式错误"},
    "error.api_key_unknown": {"en": "unknown API key", "zh": "API 密钥不存在"},
    "error.api_key_revoked": {"en": "API key revoked", "zh": "API 密钥已吊销"},
    "error.bad_cursor_page": {"en": "not a cursor from a previous page",
                              "zh": "不是上一页返回的游标"},
    "error.bad_cursor": {"en": "not a cursor returned by this API", "zh": "不是本接口返回的游标"},
    "error.true_or_false": {"en": "true or false", "zh": "应为 true 或 false"},
    "error.no_such_file": {"en": "no such file: {path}", "zh": "文件不存在：{path}"},
    "error.no_such_page": {"en": "no such page", "zh": "没有这个页面"},
    "error.triage_not_yours": {"en": "the triage queue of {code} is not your community's",
                               "zh": "{code} 的待分拨队列不属于您的社区"},
    "error.no_community_or_street": {"en": "no community or street {code!r}",
                                     "zh": "社区或街道 {code} 不存在"},
    "error.unstorable": {
        "en": "contains a character that cannot be stored (U+0000 or a lone surrogate)",
        "zh": "含有无法保存的字符（U+0000 或孤立的代理字符）"},
    "error.field_says": {"en": "{field}: {msg}", "zh": "{field}：{msg}"},
    # attachments
    "error.no_attachment": {"en": "no attachment {id}", "zh": "附件 {id} 不存在或无权查看"},
    "error.over_bytes": {"en": "over {limit} bytes", "zh": "超过 {limit} 字节"},
    "error.image_too_many_pixels": {"en": "the image has more than {limit} pixels",
                                    "zh": "图片像素数超过 {limit}"},
    "error.over_pixels": {"en": "over {limit} pixels", "zh": "超过 {limit} 像素"},
    "error.link_signature": {
        "en": "the link's signature does not match: it was changed or not made here",
        "zh": "链接签名不符：链接已被改动，或并非本系统生成"},
    "error.does_not_match": {"en": "does not match", "zh": "不符"},
    "error.link_expired": {"en": "the link has expired; fetch the request again for a fresh one",
                           "zh": "链接已过期，请重新获取"},
    "error.in_the_past": {"en": "in the past", "zh": "已过期"},
    "error.attachment_unusable": {"en": "unknown or already used attachment",
                                  "zh": "附件不存在或已被使用"},
    "error.no_unused_attachment": {"en": "no unused attachment {id} uploaded by you",
                                   "zh": "没有您上传且未使用的附件 {id}"},
    "error.export_too_large": {
        "en": "more than {limit:,} tickets match, more than a spreadsheet holds: narrow the "
              "filters (a period, a jurisdiction, a status)",
        "zh": "符合条件的工单超过 {limit} 条，超出表格容量，请缩小筛选范围（时间段、辖区、状态）"},
    # posting and the workflow
    "error.grid_not_in_scope": {"en": "no grid {code!r} in your scope",
                                "zh": "网格 {code} 不在您的辖区内"},
    "error.outside_every_grid": {"en": "the location is not inside any grid",
                                 "zh": "该位置不在任何网格内"},
    "error.location_outside_scope": {"en": "the location is in grid {code}, outside your scope",
                                     "zh": "该位置位于网格 {code}，不在您的辖区内"},
    "error.idempotency_reused": {
        "en": "Idempotency-Key {key!r} was first used with a different request body",
        "zh": "Idempotency-Key {key} 已用于另一个内容不同的请求"},
    "error.idempotency_reused_field": {"en": "already used with a different request body",
                                       "zh": "已用于另一个内容不同的请求"},
    "error.keyed_ticket_invisible": {
        "en": "the ticket created with this key is no longer visible to you",
        "zh": "用此键创建的工单您已无权查看"},
    "error.item_no_primary": {"en": "item {code} names no primary department",
                              "zh": "事项 {code} 未设主办部门"},
    "error.self_handle_grid_worker": {"en": "only a grid worker may handle an issue on the spot",
                                      "zh": "只有网格员可以现场处置"},
    "error.item_not_self_handled": {
        "en": "item {code} ({name}) may not be handled on the spot by a grid worker",
        "zh": "事项 {code}（{name}）不允许网格员现场处置"},
    "error.if_match_format": {"en": 'expected the ticket\'s ETag, like "{id}.3"',
                              "zh": '应为工单的 ETag，例如 "{id}.3"'},
    "error.claimed_by_other": {
        "en": "ticket {id} is claimed by {holder}; only its assignee may {action} it",
        "zh": "工单 {id} 已由 {holder} 签收；只有处理人可以执行 {action}"},
    "error.not_summoned_to": {
        "en": "your department is not summoned to ticket {id} by an open whistle, so it "
              "cannot {action} it",
        "zh": "您的部门未被工单 {id} 的吹哨召集，不能执行 {action}"},
    "error.claim_first": {"en": "claim ticket {id} first: only its assignee may {action} it",
                          "zh": "请先签收工单 {id}：只有处理人可以执行 {action}"},
    "error.reopen_window": {"en": "a ticket can be reopened within {days} days of closing",
                            "zh": "工单结案后 {days} 天内方可重新打开"},
    "error.already_rated": {"en": "ticket {id} is already rated ({rating})",
                            "zh": "工单 {id} 已评价（{rating}）"},
    "error.assignee_same_department": {
        "en": "the new assignee must be active staff of the same department",
        "zh": "新处理人须为本部门在岗人员"},
    "error.no_other_ticket": {"en": "no other ticket {id}", "zh": "不存在另一工单 {id}"},
    "error.merge_into_open": {"en": "ticket {id} is {status}; merge into an open one",
                              "zh": "工单 {id} 当前状态为「{status}」；请合并到未结案的工单"},
    "error.nothing_to_change": {"en": "nothing to change: give description, address or urgency",
                                "zh": "没有要修改的内容：请提供描述、地址或紧急程度"},
    # SLA: escalation, extension and suspension requests, calendars
    "sla.already_street": {
        "en": "ticket {id} is already at street level; the street may blow the whistle instead",
        "zh": "工单 {id} 已在街道层级，无法再上报；街道可改为吹哨召集"},
    "sla.already_escalated": {
        "en": "ticket {id} has already been escalated to {level} once; each level is reached "
              "at most once",
        "zh": "工单 {id} 已上报至{level}一次；每一层级至多上报一次"},
    "sla.request_pending": {"en": "ticket {id} already has a pending {kind} request",
                            "zh": "工单 {id} 已有待审批的{kind}申请"},
    "sla.no_request_pending": {"en": "ticket {id} has no pending {kind} request",
                               "zh": "工单 {id} 没有待审批的{kind}申请"},
    "request.extension": {"en": "extension", "zh": "延期"},
    "request.suspension": {"en": "suspension", "zh": "挂起"},
    "calendar.override_exists": {"en": "{day} already has an override; delete it first",
                                 "zh": "{day} 已有调休安排，请先删除"},
    "calendar.no_override": {"en": "no override on {day}", "zh": "{day} 没有调休安排"},
    "calendar.unknown_zone": {"en": "unknown time zone {zone!r}", "zh": "未知时区 {zone}"},
    # users and their import
    "user.own_role": {"en": "you cannot change your own role", "zh": "不能修改自己的角色"},
    "user.deactivate_self": {"en": "you cannot deactivate yourself", "zh": "不能停用自己的账号"},
    "user.import_unknown_columns": {
        "en": "unknown column(s): {columns}; the columns are username, name, role, scope, "
              "phone (用户名, 姓名, 角色, 范围, 手机号)",
        "zh": "未知的列：{columns}；应有的列为 用户名、姓名、角色、范围、手机号"
              "（username, name, role, scope, phone）"},
    "user.import_too_large": {"en": "a user import file has at most {limit} bytes",
                              "zh": "用户导入文件至多 {limit} 字节"},
    "user.import_too_many_rows": {"en": "a user import has at most {limit} rows",
                                  "zh": "一次用户导入至多 {limit} 行"},
    # matrix and jurisdiction imports
    "matrix.problem": {"en": "the matrix file has {count} problem",
                       "zh": "事项清单文件有 {count} 处问题"},
    "matrix.problems": {"en": "the matrix file has {count} problems",
                        "zh": "事项清单文件有 {count} 处问题"},
    "matrix.unknown_category": {"en": "unknown category {category!r}: one of {known}",
                                "zh": "未知类别 {category}；可选：{known}"},
    "matrix.file_too_large": {"en": "a matrix file may be at most {limit} bytes",
                              "zh": "事项清单文件至多 {limit} 字节"},
    "matrix.label_required": {"en": "a label of 1 to {limit} characters is required",
                              "zh": "请填写 1 至 {limit} 个字符的版本名称"},
    "csv.row_unreadable": {"en": "{reason}", "zh": "此行无法读取：{reason}"},
    "department.missing_columns": {"en": "missing column(s): {columns}",
                                   "zh": "缺少列：{columns}"},
    "department.missing_code": {"en": "missing code", "zh": "缺少部门编码（code）"},
    "department.missing_name": {"en": "missing name", "zh": "缺少部门名称（name）"},
    "department.duplicate_code": {"en": "duplicate code {code!r} (also line {line})",
                                  "zh": "部门编码“{code}”重复（另见第 {line} 行）"},
    "department.unknown_street": {"en": "{street!r} is not a known street",
                                  "zh": "“{street}”不是已知的街道"},
    # the matrix file's rows and header (errors[].msg); a column is named in English as
    # the location names it, in Chinese as the header an editor sees in Excel (Words)
    "matrix.header_unreadable": {"en": "the header {reason}", "zh": "表头无法读取：{reason}"},
    "matrix.cell_count": {"en": "has {cells} cells, the header has {header}",
                          "zh": "本行有 {cells} 个单元格，表头有 {header} 列"},
    "matrix.duplicate_code": {"en": "duplicate code {code} (first on row {first})",
                              "zh": "事项编码 {code} 重复（首次出现在第 {first} 行）"},
    "matrix.no_items": {"en": "the file has a header but no items",
                        "zh": "文件只有表头，没有任何事项"},
    "matrix.empty": {"en": "the file is empty: expected a header row with {columns}",
                     "zh": "文件为空：应有表头行，列为 {columns}"},
    "matrix.missing_column": {"en": "missing column {column}",
                              "zh": "缺少列 {column}"},
    "matrix.unknown_column": {"en": "unknown column {column!r}", "zh": "未知列“{column}”"},
    "matrix.repeated_column": {"en": "column {column} appears more than once",
                               "zh": "列 {column} 出现了不止一次"},
    "matrix.required": {"en": "{column} is required", "zh": "{column}为必填项"},
    "matrix.too_long": {"en": "{column} is longer than {limit} characters",
                        "zh": "{column}超过 {limit} 个字符"},
    "matrix.not_yes_no": {
        "en": "{value!r} is not a yes/no value: write true or false (是/否, yes/no, 1/0)",
        "zh": "“{value}”不是是/否值：请填写 是 或 否（也可写 true/false、yes/no、1/0）"},
    "matrix.not_one_of": {"en": "{value!r} is not one of {allowed}",
                          "zh": "“{value}”不是可选值：{allowed}"},
    "matrix.code_of_category": {
        "en": "code {code!r} must be four digits starting with its category {category}",
        "zh": "事项编码“{code}”须为以其类别 {category} 开头的四位数字"},
    "matrix.unknown_department": {"en": "unknown department {department!r}",
                                  "zh": "未知部门“{department}”"},
    "matrix.primary_also_co": {"en": "{department} is already the primary department",
                               "zh": "{department} 已是主责部门"},
    "matrix.department_twice": {"en": "a department is listed twice",
                                "zh": "有部门被重复列出"},
    "matrix.not_a_limit": {
        "en": "{value!r} is not a time limit: write a positive number with a unit, "
              "e.g. 30m, 4h or 2d",
        "zh": "“{value}”不是时限：请填写正数加单位，如 30m、4h 或 2d"},
    "matrix.limit_order": {"en": "{shorter} may not be longer than {longer}",
                           "zh": "{shorter}不得长于{longer}"},
    "matrix.safety_negative": {"en": "every work-safety (05) item is on the negative list",
                               "zh": "安全生产（05）类事项一律列入负面清单"},
    "matrix.negative_at_street": {
        "en": "a negative-list item is handled at street level by its department; a "
              "community or grid is never its responsible subject",
        "zh": "负面清单事项由街道层级的职能部门办理，社区、网格不作为责任主体"},
    "matrix.negative_self_handle": {
        "en": "a negative-list item may not be self-handled in the grid",
        "zh": "负面清单事项不得由网格自处"},
    "matrix.self_handle_grid_only": {"en": "only grid-level items may be self-handled",
                                     "zh": "只有网格层级的事项可以网格自处"},
    "matrix.no_departments": {
        "en": "no departments exist yet: import the departments before the matrix",
        "zh": "尚无任何部门：请先导入部门，再导入事项清单"},
    # one GeoJSON feature's problem (errors[].msg); {level} and the like are Words
    "feature.not_feature": {"en": "not a GeoJSON Feature", "zh": "不是 GeoJSON Feature"},
    "feature.properties": {"en": "properties must be an object",
                           "zh": "properties 须为对象"},
    "feature.missing_code": {"en": "missing code", "zh": "缺少编码（code）"},
    "feature.bad_code": {"en": "code {code!r} must be 1-64 letters, digits, '-', '_' or '.'",
                         "zh": "编码“{code}”须为 1 至 64 个字母、数字、“-”“_”或“.”"},
    "feature.missing_name": {"en": "missing name", "zh": "缺少名称（name）"},
    "feature.long_name": {"en": "name is longer than 200 characters",
                          "zh": "名称超过 200 个字符"},
    "feature.unstorable_name": {
        "en": "name contains a character that cannot be stored (U+0000 or a lone surrogate)",
        "zh": "名称含有无法保存的字符（U+0000 或孤立代理项）"},
    "feature.unknown_level": {
        "en": "unknown level {level!r}; expected street, community or grid",
        "zh": "未知层级“{level}”；应为 street（街道）、community（社区）或 grid（网格）"},
    "feature.street_parent": {"en": "a street has no parent; parent must be null",
                              "zh": "街道没有上级：parent 须为 null"},
    "feature.needs_parent": {"en": "a {level} needs the code of its parent {parent_level}",
                             "zh": "{level}须填写其上级{parent_level}的编码（parent）"},
    "feature.grid_geometry": {"en": "a grid needs a Polygon or MultiPolygon geometry",
                              "zh": "网格须有 Polygon 或 MultiPolygon 几何图形"},
    "feature.geometry_type": {"en": "geometry must be a Polygon or MultiPolygon, not {kind}",
                              "zh": "几何图形须为 Polygon 或 MultiPolygon，而不是 {kind}"},
    "feature.malformed_polygon": {"en": "malformed polygon: {reason}",
                                  "zh": "多边形格式有误：{reason}"},
    "feature.empty_polygon": {"en": "the polygon is empty", "zh": "多边形为空"},
    "feature.invalid_polygon": {"en": "invalid polygon: {reason}",
                                "zh": "多边形无效：{reason}"},
    "feature.malformed_position": {"en": "malformed position {position!r}; expected [lon, lat]",
                                   "zh": "坐标 {position} 格式有误：应为 [经度, 纬度]"},
    "feature.position_range": {
        "en": "point {position} is outside the valid range (positions are [lon, lat] in "
              "degrees)",
        "zh": "点 {position} 超出有效范围（坐标为以度为单位的 [经度, 纬度]）"},
    "feature.malformed_coordinates": {
        "en": "malformed coordinates: expected nested lists of [lon, lat] positions",
        "zh": "坐标格式有误：应为嵌套的 [经度, 纬度] 列表"},
    "feature.duplicate_code": {"en": "duplicate code {code!r} (also feature {first})",
                               "zh": "编码“{code}”重复（另见第 {first} 个要素）"},
    "feature.level_fixed": {"en": "{code} is already a {level}; a node's level cannot change",
                            "zh": "{code} 已是{level}，层级不能更改"},
    "feature.parent_fixed": {
        "en": "{code} already belongs to {parent}; a node cannot move to another parent",
        "zh": "{code} 已隶属于 {parent}，不能改隶其他上级"},
    "feature.parent_invalid": {"en": "parent {parent} is itself invalid (feature {index})",
                               "zh": "上级 {parent} 本身有误（第 {index} 个要素）"},
    "feature.unknown_parent": {
        "en": "unknown parent {parent!r}: neither in this file nor in the database",
        "zh": "未知上级“{parent}”：文件和数据库中均没有"},
    "feature.parent_level": {
        "en": "parent {parent} is a {parent_level}; a {level}'s parent must be a {wanted}",
        "zh": "上级 {parent} 是{parent_level}；{level}的上级须为{wanted}"},
    "feature.overlap": {"en": "grid {code} overlaps grid {other}",
                        "zh": "网格 {code} 与网格 {other} 重叠"},
    "jurisdiction.invalid_features": {
        "en": "{count} feature(s) are invalid; nothing was imported",
        "zh": "{count} 个要素有误，未导入任何内容"},
    "jurisdiction.not_feature_collection": {
        "en": "expected a GeoJSON object with type FeatureCollection",
        "zh": "应为 type 为 FeatureCollection 的 GeoJSON 对象"},
    "jurisdiction.features_not_list": {"en": "features must be a list of GeoJSON Features",
                                       "zh": "features 须为 GeoJSON Feature 的列表"},
    "jurisdiction.no_features": {"en": "the FeatureCollection has no features",
                                 "zh": "FeatureCollection 中没有任何要素"},
    "jurisdiction.not_json": {"en": "not a UTF-8 JSON document: {reason}",
                              "zh": "不是 UTF-8 编码的 JSON 文档：{reason}"},
    "jurisdiction.bad_department_rows": {"en": "{count} department row(s) are invalid",
                                         "zh": "{count} 行部门数据有误"},
    "jurisdiction.unknown_streets": {"en": "{count} unknown street code(s)",
                                     "zh": "{count} 个街道代码不存在"},
    # notifications and webhooks
    "channel.needs_field": {"en": "a {kind} channel needs {field}",
                            "zh": "{kind} 通道须填写 {field}"},
    "channel.one_target": {"en": "name exactly one of department or jurisdiction",
                           "zh": "部门与辖区须且只能指定其一"},
    "channel.no_channel": {"en": "no notification channel {id}", "zh": "通知通道 {id} 不存在"},
    "channel.not_configured": {"en": "the channel is not configured yet", "zh": "该通道尚未配置"},
    "channel.sms_needs_phone": {"en": "an SMS test needs a phone number",
                                "zh": "短信测试须填写手机号"},
    "channel.bad_target": {"en": "channels may not target {reason}", "zh": "通道不得指向 {reason}"},
    "notifications.not_for_api_keys": {"en": "notifications belong to users, not to API keys",
                                       "zh": "通知只属于用户，API 密钥没有通知"},
    "webhook.own_department": {
        "en": "you may subscribe only your own department ({own}), not {code}",
        "zh": "只能订阅本部门（{own}）的事件，不能订阅 {code}"},
    "webhook.managers": {"en": "only department leads of a department, or admins, manage webhooks",
                         "zh": "只有部门负责人或管理员可以管理 Webhook"},
    "webhook.bad_target": {"en": "webhooks may not target {reason}",
                           "zh": "Webhook 不得指向 {reason}"},
    # reports and suggestions
    "report.role_may_not_read": {"en": "role {role} may not read reports; allowed: {allowed}",
                                 "zh": "角色 {role} 无权查看报表；可查看的角色：{allowed}"},
    "report.no_category": {"en": "no category {category!r}; one of {known}",
                           "zh": "没有类别“{category}”；可选：{known}"},
    "report.no_dimension": {"en": "cannot group by {value!r}; one of {known}",
                            "zh": "不能按“{value}”分组；可选：{known}"},
    "report.weight_positive": {"en": "at least one weight must be positive",
                               "zh": "至少一项权重须大于 0"},
    "report.weight_negative": {"en": "a weight must not be negative", "zh": "权重不能为负数"},
    "report.lead_department_only": {"en": "a department lead sees the department ranking only",
                                    "zh": "部门负责人只能查看部门排名"},
    "report.no_jurisdiction": {"en": "this account has no jurisdiction to report on",
                               "zh": "该账号没有可统计的辖区"},
    "report.lead_no_department": {"en": "this department lead has no department",
                                  "zh": "该部门负责人未关联部门"},
    "report.to_before_from": {"en": "'to' ({end}) is before 'from' ({start})",
                              "zh": "结束日期（{end}）早于开始日期（{start}）"},
    "report.too_many_days": {"en": "a report covers at most {days} days",
                             "zh": "报表至多涵盖 {days} 天"},
    "suggest.no_confident": {
        "en": "no confident suggestion for this text: name the item to handle it on the spot",
        "zh": "未能根据描述可靠识别事项：请指定事项后再现场处置"},
    "suggest.no_matrix": {"en": "no matrix has been imported yet: nothing to suggest from",
                          "zh": "尚未导入事项清单，无法推荐事项"},
    "suggest.no_grid": {"en": "no grid {code!r}", "zh": "网格 {code} 不存在"},
    "suggest.no_recent_item": {"en": "no item {code!r} in the current matrix",
                               "zh": "当前事项清单中没有事项 {code}"},
    "suggest.no_matrix_to_train": {"en": "no matrix has been imported yet: nothing to train for",
                                   "zh": "尚未导入事项清单，没有可训练的内容"},
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
    "user.taken_field": {"en": "taken", "zh": "已被占用"},
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
    "routing.triage_community": {
        "en": "awaiting triage (待分拨) at the community: no confident suggestion (best guess "
              "{item} at {score}), and every plausible item is the community's; a community "
              "dispatcher routes it",
        "zh": "待分拨（社区）：未能可靠识别事项（最可能为 {item}，置信度 {score}），可能的事项均属社区，"
              "由社区调度员分拨"},
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


@dataclass(frozen=True, slots=True)
class Words:
    """A parameter said differently in each language (a column's English name and the
    Chinese header Excel shows), where a catalogue entry per value would repeat a table."""

    en: str
    zh: str

    def render(self, lang: Lang = DEFAULT_LANGUAGE) -> str:
        return self.zh if lang == "zh" else self.en


def M(message_id: str, **params: Any) -> Message:  # noqa: N802  (reads as a constructor)
    """``M("error.no_ticket", id=7)``: a message, checked against the catalogue at once."""
    if message_id not in CATALOGUE:
        raise KeyError(f"no message {message_id!r} in the catalogue")
    return Message(message_id, params)


def render(message_id: str, lang: Lang = DEFAULT_LANGUAGE, **params: Any) -> str:
    texts = CATALOGUE[message_id]
    values = {k: (v.render(lang) if isinstance(v, Message | Words) else v)
              for k, v in params.items()}
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
            best[primary] = (q, position)
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
