// Chinese names of what the API returns in English codes, and times in Asia/Shanghai.
export const STATUS = {
  self_handling: '自处中', dispatched: '待签收', claimed: '已签收', in_progress: '处置中',
  suspended: '已挂起', resolved: '待核查', rework: '返工', returned: '已退单',
  closed: '已结案', cancelled: '已作废',
}
export const SLA = { on_track: '正常', warning: '即将超时', overdue: '超时', paused: '已挂起' }
export const URGENCY = { normal: '一般', urgent: '紧急' }
export const LEVEL = { grid: '网格', community: '社区', street: '街道' }
export const ROLE = {
  grid_worker: '网格员', community_dispatcher: '社区调度', street_dispatcher: '街道调度',
  department_staff: '部门工作人员', department_lead: '部门负责人', supervisor: '督办',
  admin: '管理员', integration: '接口',
}
export const ACTION = {
  claim: '签收', release: '退回队列', start: '开始处置', note: '处置进展', resolve: '处置完毕',
  self_close: '自处结案', return: '退单', reroute: '改派', transfer: '转交',
  verify_pass: '核查通过', verify_fail: '核查不通过', edit: '修改', cancel: '作废', merge: '合并',
  reopen: '重新打开', rate: '评价', escalate: '上报', request_extension: '延期申请',
  approve_extension: '批准延期', reject_extension: '驳回延期', request_suspension: '挂起申请',
  approve_suspension: '批准挂起', reject_suspension: '驳回挂起', resume: '恢复',
  blow_whistle: '吹哨', report_in: '报到',
}
// What each action does, shown under its form (the API's /workflow describes them in English).
export const ACTION_HELP = {
  claim: '从本部门队列签收此工单；多人同时签收时只有一人成功。',
  release: '把已签收的工单放回部门队列。',
  start: '开始处置（返工后重新开始处置）。',
  note: '记录处置进展，可附照片；工单状态不变。',
  resolve: '上报处置结果，等待网格员现场核查。',
  self_close: '网格自处：网格员现场处置完毕后直接结案，需填写结果并附照片。',
  return: '退单：不属本部门职责，退回分派它的那一级调度。',
  reroute: '改派：按其他事项、部门或层级重新分派。',
  transfer: '部门负责人把工单转交给本部门其他工作人员。',
  verify_pass: '核查通过：现场确认已处置，工单结案。',
  verify_fail: '核查不通过：未处置好，退回承办人返工；办结时限不重新计算。',
  edit: '修改描述、地址或紧急程度。',
  cancel: '作废：无效上报。',
  merge: '合并：重复上报并入另一件未结工单，其反映人一并关联。',
  reopen: '重新打开：在结案后规定天数内。',
  rate: '评价：代居民填写满意度（满意、基本满意、不满意）及意见。',
  escalate: '上报：网格工单上报社区，社区工单上报街道。',
  request_extension: '延期申请：向上一级申请延长办结时限。',
  approve_extension: '批准延期：办结时限按申请顺延。',
  reject_extension: '驳回延期：办结时限不变。',
  request_suspension: '挂起申请：申请暂停计时（如等待居民配合）。',
  approve_suspension: '批准挂起：暂停计时，挂起期间不计入时限。',
  reject_suspension: '驳回挂起：继续计时。',
  resume: '恢复：从暂停处继续计时。',
  blow_whistle: '吹哨：召集相关部门在规定时限内报到。',
  report_in: '报到：被召集的部门响应吹哨。',
}
// Timeline event kinds: the action names above, plus what the system records by itself.
export const EVENT = {
  ...ACTION, created: '上报', posted: '上报', claimed: '签收', started: '开始处置',
  resolved: '处置完毕', closed: '结案', returned: '退单', rerouted: '改派', escalated: '上报',
  sla_warning: '即将超时', sla_overdue: '超时', whistle_blown: '吹哨', reported_in: '报到',
  verified: '核查', rework: '返工', suspended: '挂起', resumed: '恢复', rated: '评价',
  extension_requested: '延期申请', extension_approved: '批准延期', extension_rejected: '驳回延期',
  suspension_requested: '挂起申请', suspension_approved: '批准挂起', suspension_rejected: '驳回挂起',
  reopened: '重新打开', cancelled: '作废', merged: '合并', transferred: '转交', released: '退回队列',
  noted: '处置进展', whistle_missed: '报到超时', auto_escalated: '自动上报', supervised: '督办',
  open311_update: '居民留言',
}

const TIME = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', hour12: false,
})
const DAY = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' })

export function time(iso) { return iso ? TIME.format(new Date(iso)) : '—' }
// The date (YYYY-MM-DD) in Shanghai, as the reports API expects.
export function shanghaiDay(date) { return DAY.format(date) }

export function remaining(iso, now = Date.now()) {
  if (!iso) return ''
  let ms = new Date(iso).getTime() - now
  const late = ms < 0
  ms = Math.abs(ms)
  const h = Math.floor(ms / 3600000)
  const m = Math.floor((ms % 3600000) / 60000)
  const text = h >= 48 ? `${Math.floor(h / 24)}天${h % 24}小时` : `${h}小时${m}分`
  return late ? `已超时 ${text}` : `剩余 ${text}`
}

export function percent(x) { return x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%` }

// Working minutes left on a stopped clock (negative: it was already overdue when stopped).
export function workingLeft(minutes) {
  const m = Math.abs(minutes)
  const text = m >= 60 ? `${Math.floor(m / 60)} 小时 ${m % 60} 分钟` : `${m} 分钟`
  return minutes < 0 ? `已超时 ${text}` : `${text}（工作时间）`
}

// A countdown from the server: minutes left (negative: overdue), in working or plain time.
export function countdownText(minutes, basis) {
  const m = Math.abs(Math.trunc(minutes))
  const days = basis === 'calendar' ? Math.floor(m / 1440) : 0
  const rest = m - days * 1440
  const text = `${days ? days + ' 天 ' : ''}${Math.floor(rest / 60)} 小时 ${rest % 60} 分钟`
  const unit = basis === 'calendar' ? '' : '（工作时间）'
  return minutes < 0 ? `已超时 ${text}${unit}` : `剩余 ${text}${unit}`
}
