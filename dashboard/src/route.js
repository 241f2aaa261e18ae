// The whole state of the dashboard lives in the URL, so a link shows the same view and
// the back button works:
//   /dashboard/<site>[/<page>]?period=7d&compare=previous&metric=pageviews&interval=day
//     &f=page|is|/pricing&f=country|is|DE          (filters: dimension|op|value)
//   /share/<secret>[/<page>]?...                   (a shared link: read-only)
//   /dashboard/~account                            (the signed-in user's password)
import { useEffect, useState } from 'preact/hooks'

export const PAGES = ['overview', 'realtime', 'funnel', 'settings']
export const DEFAULTS = { period: '30d', compare: 'off', metric: 'visitors', interval: '' }
const KEYS = ['period', 'from', 'to', 'compare', 'metric', 'interval']

export function parseLocation (loc = window.location) {
  const parts = loc.pathname.split('/').filter(Boolean).map(decodeURIComponent)
  const q = new URLSearchParams(loc.search)
  const state = { mode: 'app', secret: null, site: null, page: 'overview' }
  if (parts[0] === 'share') {
    state.mode = 'share'
    state.secret = parts[1] || null
    state.page = PAGES.includes(parts[2]) ? parts[2] : 'overview'
  } else if (parts[1] === '~account') {
    state.page = 'account'
  } else {
    state.site = parts[1] || null
    state.page = PAGES.includes(parts[2]) ? parts[2] : 'overview'
  }
  for (const key of KEYS) state[key] = q.get(key) || DEFAULTS[key] || ''
  state.filters = q.getAll('f').map(parseFilter).filter(Boolean)
  state.steps = q.getAll('step').map(parseStep).filter(Boolean)
  return state
}

function parseFilter (text) {
  const first = text.indexOf('|')
  const second = text.indexOf('|', first + 1)
  if (first < 1 || second < 0) return null
  const op = text.slice(first + 1, second)
  if (!['is', 'is_not', 'contains'].includes(op)) return null
  return { dimension: text.slice(0, first), op, value: text.slice(second + 1) }
}

function parseStep (text) {
  const at = text.indexOf(':')
  const type = text.slice(0, at)
  if (!['page', 'event'].includes(type)) return null
  return { type, value: text.slice(at + 1) }
}

export function buildUrl (state) {
  let path
  if (state.mode === 'share') {
    path = `/share/${encodeURIComponent(state.secret)}`
  } else if (state.page === 'account') {
    return '/dashboard/~account'
  } else {
    path = state.site ? `/dashboard/${encodeURIComponent(state.site)}` : '/dashboard/'
  }
  if (state.page && state.page !== 'overview' && (state.site || state.mode === 'share')) path += `/${state.page}`
  const q = new URLSearchParams()
  for (const key of KEYS) {
    if (key === 'from' || key === 'to') {
      if (state.period === 'custom' && state[key]) q.set(key, state[key])
    } else if (state[key] && state[key] !== DEFAULTS[key]) q.set(key, state[key])
  }
  for (const f of state.filters || []) q.append('f', `${f.dimension}|${f.op}|${f.value}`)
  if (state.page === 'funnel') for (const s of state.steps || []) q.append('step', `${s.type}:${s.value}`)
  const search = q.toString()
  return path + (search ? `?${search}` : '')
}

const listeners = new Set()
const notify = () => listeners.forEach(fn => fn(parseLocation()))
window.addEventListener('popstate', notify)

/** Go to the state ``patch`` changes (pushState; ``replace`` for a correction). */
export function navigate (patch, { replace = false } = {}) {
  const next = { ...parseLocation(), ...patch }
  const url = buildUrl(next)
  if (url === window.location.pathname + window.location.search) return
  window.history[replace ? 'replaceState' : 'pushState'](null, '', url)
  notify()
}

export function useRoute () {
  const [state, setState] = useState(parseLocation)
  useEffect(() => {
    listeners.add(setState)
    return () => listeners.delete(setState)
  }, [])
  return state
}

/** A link that navigates inside the app (a real <a>: keyboard, middle-click, copy). */
export function linkProps (patch) {
  const href = buildUrl({ ...parseLocation(), ...patch })
  return {
    href,
    onClick: (event) => {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
      event.preventDefault()
      navigate(patch)
    }
  }
}
