// Every call to the read API: JSON in and out, the session cookie (same origin), the CSRF
// token on POST/PATCH/DELETE, the share secret in share mode. An error answer becomes an
// ApiError carrying the API's title (a code) and description (the reason to show).

let csrfToken = null
let shareToken = null

export function setCsrfToken (token) { csrfToken = token || null }
export function setShareToken (token) { shareToken = token || null }
export function isShareMode () { return shareToken !== null }

export class ApiError extends Error {
  constructor (status, title, description, retryAfter) {
    super(description || title || `HTTP ${status}`)
    this.status = status
    this.title = title || ''
    this.description = description || ''
    this.retryAfter = retryAfter
  }

  get needsJob () { return this.status === 400 && this.title === 'needs_adhoc_job' }
}

function headers (method, body) {
  const found = { Accept: 'application/json' }
  if (body !== undefined) found['Content-Type'] = 'application/json'
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) found['X-CSRF-Token'] = csrfToken
  if (shareToken) found['X-Share-Token'] = shareToken
  return found
}

async function failure (resp) {
  let title = ''
  let description = ''
  try {
    const doc = await resp.json()
    title = doc.title || ''
    description = doc.description || ''
  } catch (e) { /* not JSON */ }
  if (!description) description = resp.status >= 500 ? 'The server could not answer; try again in a moment.' : `HTTP ${resp.status}`
  const retry = resp.headers.get('Retry-After')
  return new ApiError(resp.status, title, description, retry ? parseInt(retry, 10) : undefined)
}

export async function api (method, path, body, { signal } = {}) {
  let resp
  try {
    resp = await fetch(path, {
      method,
      headers: headers(method, body),
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal
    })
  } catch (error) {
    if (error.name === 'AbortError') throw error
    throw new ApiError(0, 'network', 'The read API did not answer. Check your connection.')
  }
  if (!resp.ok) throw await failure(resp)
  if (resp.status === 204) return null
  const type = resp.headers.get('Content-Type') || ''
  return type.includes('json') ? resp.json() : resp.text()
}

export const get = (path, opts) => api('GET', path, undefined, opts)
export const post = (path, body, opts) => api('POST', path, body === undefined ? {} : body, opts)
export const patch = (path, body, opts) => api('PATCH', path, body, opts)
export const del = (path, opts) => api('DELETE', path, undefined, opts)

/** GET parameters of a report query (the read API's query model, as parameters). */
export function queryParams (query) {
  const params = new URLSearchParams()
  for (const name of ['site_id', 'date_range', 'start', 'end', 'interval']) {
    if (query[name]) params.set(name, query[name])
  }
  if (query.metrics) params.set('metrics', query.metrics.join(','))
  if (query.dimension) params.set('dimension', query.dimension)
  if (query.filters && query.filters.length) params.set('filters', JSON.stringify(query.filters))
  if (query.order_by) params.set('order_by', query.order_by)
  if (query.limit) params.set('limit', String(query.limit))
  if (query.offset) params.set('offset', String(query.offset))
  return params
}

export function reportUrl (kind, query, format) {
  const params = queryParams(query)
  if (format) params.set('format', format)
  return `/api/v1/reports/${kind}?${params}`
}

/** Download a URL of the API as a file (a fetch, so share mode's header goes along). */
export async function download (url, filename) {
  const resp = await fetch(url, { headers: headers('GET'), credentials: 'same-origin' })
  if (!resp.ok) throw await failure(resp)
  const blob = await resp.blob()
  const link = document.createElement('a')
  link.href = URL.createObjectURL(blob)
  link.download = filename
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(link.href), 10000)
}
