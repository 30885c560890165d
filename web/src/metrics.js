// The figures of GET /reports/sla (ReportMetrics), in the API's order, with their Chinese
// names and how each is shown. 三率 first: they head every report in the offices.
export const THREE_RATES = ['on_time_response_rate', 'resolution_rate', 'satisfaction_rate']
export const METRICS = [
  ['on_time_response_rate', '按时响应率', 'rate'], ['resolution_rate', '办结率', 'rate'],
  ['satisfaction_rate', '满意率', 'rate'],
  ['reported', '上报数', 'count'], ['cancelled', '作废数', 'count'], ['valid', '有效数', 'count'],
  ['open', '未办结', 'count'], ['closed', '已结案', 'count'], ['suspended', '已挂起', 'count'],
  ['overdue_now', '当前超时', 'count'], ['dispatched', '已派遣', 'count'], ['responded', '已响应', 'count'],
  ['responded_on_time', '按时响应', 'count'], ['resolved', '已处置', 'count'],
  ['closed_on_time', '按时结案', 'count'], ['rated', '已评价', 'count'], ['satisfied', '满意数', 'count'],
  ['returned', '退单数', 'count'], ['reworked', '返工数', 'count'], ['extended', '延期数', 'count'],
  ['escalated_to_community', '上报社区', 'count'], ['escalated_to_street', '上报街道', 'count'],
  ['closed_in_grid', '网格内办结', 'count'], ['closed_in_community', '社区内办结', 'count'],
  ['summoned', '吹哨召集', 'count'], ['reported_in', '报到数', 'count'],
  ['reported_in_on_time', '按时报到', 'count'],
  ['response_rate', '响应率', 'rate'], ['on_time_resolution_rate', '按时办结率', 'rate'],
  ['return_rate', '退单率', 'rate'], ['rework_rate', '返工率', 'rate'], ['extension_rate', '延期率', 'rate'],
  ['escalation_rate_community', '上报社区率', 'rate'], ['escalation_rate_street', '上报街道率', 'rate'],
  ['closed_in_grid_share', '网格内办结占比', 'rate'], ['closed_in_community_share', '社区内办结占比', 'rate'],
  ['report_in_on_time_rate', '按时报到率', 'rate'],
  ['claim_minutes_p50', '签收用时中位数（分钟）', 'minutes'], ['claim_minutes_p90', '签收用时P90（分钟）', 'minutes'],
  ['resolve_minutes_p50', '处置用时中位数（分钟）', 'minutes'], ['resolve_minutes_p90', '处置用时P90（分钟）', 'minutes'],
]

export function show(value, kind) {
  if (value === null || value === undefined) return '—'
  if (kind === 'rate') return `${(value * 100).toFixed(1)}%`
  return String(value)
}
