// Posts that the server has not yet acknowledged, kept in IndexedDB (photos included) so
// that they survive a bad network, a closed tab and a flat battery. Each carries the
// Idempotency-Key it was given when composed: a retry after a lost response returns the
// ticket the first attempt made, never a second one.
import { reactive, toRaw } from 'vue'
import { api, upload, ApiError } from './api.js'

const DB = 'whistle-outbox'
const STORE = 'posts'
export const outbox = reactive({ items: [], sending: false, lastPosted: null })
let timer = null

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1)
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'key' })
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

async function tx(mode, fn) {
  const db = await open()
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode)
    const result = fn(t.objectStore(STORE))
    t.oncomplete = () => resolve(result.result)
    t.onerror = () => reject(t.error)
  })
}

export async function loadOutbox(user) {
  const all = await tx('readonly', (s) => s.getAll())
  outbox.items = all.filter((p) => p.user === user).sort((a, b) => a.createdAt - b.createdAt)
}

// IndexedDB stores plain objects (and Blobs), not Vue's reactive proxies.
function plain(post) {
  const raw = toRaw(post)
  return { ...raw, body: { ...toRaw(raw.body) }, photos: toRaw(raw.photos).map((p) => ({ ...toRaw(p) })) }
}
const save = (post) => tx('readwrite', (s) => s.put(plain(post)))
const remove = (key) => tx('readwrite', (s) => s.delete(key))

// Keep a composed post (its key made now) and try to send everything unsent.
export async function enqueue(user, body, photos) {
  const post = {
    key: crypto.randomUUID(), user, createdAt: Date.now(), body,
    photos: photos.map((f) => ({ blob: f, name: f.name, attachmentId: null })),
    error: null, failed: false,
  }
  await save(post)
  outbox.items.push(post)
  return flush()
}

async function send(post) {
  for (const photo of post.photos) {
    if (photo.attachmentId === null) {
      photo.attachmentId = await upload(photo.blob, photo.name)
      await save(post)
    }
  }
  const body = { ...post.body, attachments: post.photos.map((p) => p.attachmentId) }
  return api('POST', '/tickets', { body, headers: { 'Idempotency-Key': post.key } })
}

export async function flush() {
  if (outbox.sending) return
  outbox.sending = true
  clearTimeout(timer)
  let retry = false
  try {
    for (const post of [...outbox.items]) {
      if (post.failed) continue
      try {
        const ticket = await send(post)
        await remove(post.key)
        outbox.items = outbox.items.filter((p) => p.key !== post.key)
        outbox.lastPosted = ticket
      } catch (e) {
        const permanent = e instanceof ApiError && e.status >= 400 && e.status < 500 &&
          ![401, 408, 429].includes(e.status)
        post.error = e instanceof ApiError ? e.message : '网络中断，稍后自动重试'
        post.failed = permanent
        retry = retry || !permanent
        await save(post)
      }
    }
  } finally {
    outbox.sending = false
  }
  if (retry) timer = setTimeout(flush, 3000)
}

export async function discard(key) {
  await remove(key)
  outbox.items = outbox.items.filter((p) => p.key !== key)
}

window.addEventListener('online', () => flush())
