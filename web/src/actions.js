// How each workflow action (GET /api/v1/workflow) is sent: its path and its body from the
// form. Which actions a screen offers comes from the API's own table, not from a copy here.
import { api } from './api.js'

const PATH = {
  self_close: 'self-close', verify_pass: 'verify', verify_fail: 'verify',
  request_extension: 'request-extension', approve_extension: 'decide-extension',
  reject_extension: 'decide-extension', request_suspension: 'request-suspension',
  approve_suspension: 'decide-suspension', reject_suspension: 'decide-suspension',
  blow_whistle: 'whistle', report_in: 'report-in',
}
const COMMENT_ONLY = new Set(['claim', 'release', 'start', 'resume', 'report_in'])
export const NOT_ON_TICKET_PAGE = new Set(['edit'])

export function body(action, f) {
  if (COMMENT_ONLY.has(action)) return f.comment ? { comment: f.comment } : undefined
  const b = {
    note: { result: f.text, attachments: f.attachments },
    resolve: { result: f.text, attachments: f.attachments },
    self_close: { result: f.text, attachments: f.attachments },
    verify_pass: { passed: true, attachments: f.attachments },
    verify_fail: { passed: false, reason: f.text, attachments: f.attachments },
    // The item field holds "0202 垃圾满溢" when picked from the list, or a bare code.
    reroute: { department: f.department || null, item: f.item ? f.item.trim().split(/\s+/)[0] : null, reason: f.text || null },
    transfer: { assignee_id: Number(f.assignee), reason: f.text || null },
    merge: { target_ticket_id: Number(f.target), reason: f.text || null },
    rate: { rating: f.rating, comment: f.text || null },
    request_extension: { minutes: Number(f.minutes), reason: f.text },
    approve_extension: { approve: true, note: f.text || null },
    reject_extension: { approve: false, note: f.text || null },
    approve_suspension: { approve: true, note: f.text || null },
    reject_suspension: { approve: false, note: f.text || null },
    blow_whistle: { reason: f.text || null, departments: f.departments && f.departments.length ? f.departments : null,
      minutes: f.minutes ? Number(f.minutes) : null },
  }[action]
  return b || { reason: f.text, attachments: f.attachments }
}

// Which fields an action's form shows, from its `needs` in the workflow table.
export function fields(transition) {
  const a = transition.action
  const needs = new Set(transition.needs)
  return {
    text: !COMMENT_ONLY.has(a) && a !== 'verify_pass',
    textRequired: needs.has('result') || needs.has('reason'),
    textLabel: needs.has('result') ? '处置情况' : ['rate'].includes(a) ? '评价意见' : a.includes('_extension') || a.includes('_suspension') ? '说明' : '原因',
    photos: needs.has('photos') || needs.has('photos_if_item_requires') || ['note', 'verify_fail', 'verify_pass', 'return'].includes(a),
    minutes: a === 'request_extension' || a === 'blow_whistle',
    reroute: a === 'reroute',
    assignee: a === 'transfer',
    target: a === 'merge',
    rating: a === 'rate',
    departments: a === 'blow_whistle',
  }
}

export function send(ticket, action, form, etag) {
  const headers = etag ? { 'If-Match': etag } : {}
  return api('POST', `/tickets/${ticket.id}/${PATH[action] || action}`, { body: body(action, form), headers })
}

// The actions this user could take on this ticket now, by role and state. The finer rule
// (is it *my* claim, my grid, my queue) stays with the API, which answers 403/409 and says why.
export function available(workflow, ticket, me) {
  return workflow.filter((t) => t.roles.includes(me.role) && t.from_states.includes(ticket.status) &&
    !NOT_ON_TICKET_PAGE.has(t.action) &&
    !(t.who.length === 1 && t.who[0] === 'assignee' && ticket.assignee_id !== me.id))
}
