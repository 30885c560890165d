// The one way the app talks to Whistle: its public API under /api/v1, with the user's
// access token. Tokens live in sessionStorage (this tab only, never in a URL) and are
// refreshed a minute before they expire; a 401 tries one refresh, then asks to log in again.
import { reactive } from 'vue'

const BASE = '/api/v1'
const KEY = 'whistle.session'
const ME = 'whistle.me'  // who is logged in, kept so that a reload paints without a round trip

export const session = reactive({ me: null, ready: false })

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`)
    this.status = status
    this.problem = problem || {}
  }
}

let tokens = JSON.parse(sessionStorage.getItem(KEY) || 'null')
let refreshTimer = null
let refreshing = null

function store(t) {
  tokens = t
  if (t) sessionStorage.setItem(KEY, JSON.stringify(t))
  else { sessionStorage.removeItem(KEY); sessionStorage.removeItem(ME) }
  clearTimeout(refreshTimer)
  if (t) {
    const wait = Math.max(5, t.expires_at - Date.now() / 1000 - 60) * 1000
    refreshTimer = setTimeout(() => refresh().catch(() => {}), wait)
  }
}

function keep(body) {
  store({
    access_token: body.access_token,
    refresh_token: body.refresh_token,
    expires_at: Date.now() / 1000 + body.expires_in,
  })
}

export async function login(username, password) {
  const form = new URLSearchParams({ username, password, grant_type: 'password' })
  const res = await fetch(`${BASE}/auth/token`, { method: 'POST', body: form })
  if (!res.ok) throw new ApiError(res.status, await problem(res))
  keep(await res.json())
  session.me = await api('GET', '/auth/me')
  sessionStorage.setItem(ME, JSON.stringify(session.me))
  return session.me
}

// An initial password must be changed first (POST /auth/password answers a new login).
export async function changePassword(current, fresh) {
  const body = await api('POST', '/auth/password', { body: { current_password: current, new_password: fresh } })
  keep(body)
  session.me = await api('GET', '/auth/me')
  sessionStorage.setItem(ME, JSON.stringify(session.me))
  return session.me
}

export async function logout() {
  if (tokens) {
    await fetch(`${BASE}/auth/logout`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tokens.access_token}` },
      body: JSON.stringify({ refresh_token: tokens.refresh_token }),
    }).catch(() => {})
  }
  store(null)
  session.me = null
}

function refresh() {
  // One refresh at a time: refresh tokens rotate, and a reused one revokes the login.
  if (!refreshing) {
    refreshing = (async () => {
      const res = await fetch(`${BASE}/auth/refresh`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: tokens.refresh_token }),
      })
      if (!res.ok) { store(null); session.me = null; throw new ApiError(res.status, await problem(res)) }
      keep(await res.json())
    })().finally(() => { refreshing = null })
  }
  return refreshing
}

async function problem(res) {
  try { return await res.json() } catch { return null }
}

export function accessToken() { return tokens && tokens.access_token }

// api('POST', '/tickets', {body, headers}) → parsed JSON (null for 204). Throws ApiError.
export async function api(method, path, { body, headers = {}, form, raw, retried } = {}) {
  if (!tokens) throw new ApiError(401, { detail: '请先登录' })
  if (tokens.expires_at - Date.now() / 1000 < 30) await refresh()
  const init = { method, headers: { ...headers, Authorization: `Bearer ${tokens.access_token}` } }
  if (form) init.body = form
  else if (body !== undefined) {
    init.body = JSON.stringify(body)
    init.headers['Content-Type'] = 'application/json'
  }
  const res = await fetch(BASE + path, init)
  if (res.status === 401 && !retried && tokens) {
    await refresh()
    return api(method, path, { body, headers, form, raw, retried: true })
  }
  if (!res.ok) throw new ApiError(res.status, await problem(res))
  if (raw) return res
  if (res.status === 204) return null
  return res.json()
}

export async function restore() {
  const known = JSON.parse(sessionStorage.getItem(ME) || 'null')
  if (tokens && known) {
    // Paint at once with who was logged in; check with the server meanwhile (a revoked
    // login's next request fails with 401 and returns to the login screen either way).
    session.me = known
    api('GET', '/auth/me').then((me) => { session.me = me; sessionStorage.setItem(ME, JSON.stringify(me)) })
      .catch(() => { store(null); session.me = null })
  } else if (tokens) {
    try { session.me = await api('GET', '/auth/me') } catch { store(null) }
  }
  if (tokens) store(tokens) // re-arm the refresh timer after a reload
  session.ready = true
}

export function query(params) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') continue
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, one)
  }
  const s = q.toString()
  return s ? `?${s}` : ''
}

// Upload one photo; returns its attachment id.
export async function upload(blob, name) {
  const form = new FormData()
  form.append('file', blob, name || 'photo.jpg')
  return (await api('POST', '/attachments', { form })).id
}

// Lookups every screen shares, fetched once per login.
const cache = new Map()
export function cached(path) {
  if (!cache.has(path)) cache.set(path, api('GET', path).catch((e) => { cache.delete(path); throw e }))
  return cache.get(path)
}
export function clearCache() { cache.clear() }
