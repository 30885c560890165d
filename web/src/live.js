// A department's live queue: a 30-second stream ticket (POST …/stream-ticket, with the
// access token), then an EventSource on the stream_url it returns. When the server ends
// the stream (`event: closed`) or the network drops it, a fresh ticket reopens it.
import { api } from './api.js'

const KINDS = ['new', 'claimed', 'released', 'returned', 'rerouted', 'escalated', 'started',
  'transferred', 'resolved', 'rework', 'closed', 'reopened', 'cancelled', 'edited',
  'deadline_changed', 'suspended', 'resumed', 'sla_warning', 'sla_overdue', 'whistle_blown']

export function watchQueue(department, onChange, onState = () => {}) {
  let source = null
  let stopped = false
  let retry = null

  async function connect() {
    if (stopped) return
    try {
      const t = await api('POST', `/departments/${encodeURIComponent(department)}/queue/stream-ticket`)
      source = new EventSource(t.stream_url)
      source.onopen = () => onState('live')
      for (const kind of KINDS) {
        source.addEventListener(kind, (e) => {
          if (kind === 'closed' && !e.data.includes('ticket_id')) { reconnect(); return }
          onChange(kind, JSON.parse(e.data))
        })
      }
      source.onerror = () => reconnect()
    } catch { reconnect() }
  }
  function reconnect() {
    onState('reconnecting')
    if (source) source.close()
    source = null
    clearTimeout(retry)
    if (!stopped) retry = setTimeout(() => { connect(); onChange('reconnected', null) }, 2000)
  }
  connect()
  return () => { stopped = true; clearTimeout(retry); if (source) source.close() }
}
