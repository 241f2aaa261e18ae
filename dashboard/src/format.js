// Numbers as people read them, and what each metric is.
import { formatCompact } from './axis.js'

export const METRICS = {
  visitors: { label: 'Unique visitors', short: 'Visitors', kind: 'count' },
  sessions: { label: 'Total visits', short: 'Visits', kind: 'count' },
  pageviews: { label: 'Total pageviews', short: 'Pageviews', kind: 'count' },
  views_per_session: { label: 'Views per visit', short: 'Views/visit', kind: 'decimal' },
  bounce_rate: { label: 'Bounce rate', short: 'Bounce rate', kind: 'rate', lowerIsBetter: true },
  visit_duration: { label: 'Visit duration', short: 'Duration', kind: 'duration' },
  events: { label: 'Events', short: 'Events', kind: 'count' },
  conversions: { label: 'Conversions', short: 'Conversions', kind: 'count' },
  converting_visitors: { label: 'Converting visitors', short: 'Uniques', kind: 'count' },
  conversion_rate: { label: 'Conversion rate', short: 'CR', kind: 'rate' }
}
export const STAT_METRICS = ['visitors', 'sessions', 'pageviews', 'views_per_session', 'bounce_rate', 'visit_duration']
/** The top stats that are measures of whole visits (the read API's session metrics). */
export const VISIT_METRICS = ['sessions', 'views_per_session', 'bounce_rate', 'visit_duration']

const whole = new Intl.NumberFormat()
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 })
const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 })

export const formatCount = (n) => Math.abs(n) >= 10000 ? formatCompact(n) : whole.format(n)
export const formatWhole = (n) => whole.format(n)

export function formatDuration (seconds) {
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`
}

/** A metric's value for display; null is "—" (not available), never 0. */
export function formatMetric (metric, value, full = false) {
  if (value === null || value === undefined) return '—'
  switch ((METRICS[metric] || {}).kind) {
    case 'rate': return percent.format(value)
    case 'duration': return formatDuration(value)
    case 'decimal': return decimal.format(value)
    default: return full ? formatWhole(value) : formatCount(value)
  }
}

/** The change from ``before`` to ``now``: {text, direction, good} or null. Rates change
 *  by points, the rest by percent. */
export function delta (metric, now, before) {
  if (now === null || now === undefined || before === null || before === undefined) return null
  const info = METRICS[metric] || {}
  let change
  let text
  if (info.kind === 'rate') {
    change = (now - before) * 100
    text = `${Math.abs(change).toFixed(1)} pts`
  } else {
    if (before === 0) return now === 0 ? { text: '0%', direction: 0, good: null } : null
    change = (now - before) / before * 100
    text = `${Math.abs(change) >= 100 ? Math.round(Math.abs(change)) : Math.abs(change).toFixed(change === 0 ? 0 : 1)}%`
  }
  const direction = Math.abs(change) < 0.05 ? 0 : Math.sign(change)
  const good = direction === 0 ? null : (direction > 0) !== Boolean(info.lowerIsBetter)
  return { text, direction, good }
}

export const DIMENSIONS = {
  page: 'Page',
  entry_page: 'Entry page',
  exit_page: 'Exit page',
  source: 'Source',
  medium: 'UTM medium',
  campaign: 'UTM campaign',
  channel: 'Channel',
  referrer: 'Referrer',
  country: 'Country',
  device: 'Device',
  browser: 'Browser',
  os: 'Operating system',
  screen_size: 'Screen size',
  event: 'Event',
  goal: 'Goal'
}
export const dimensionLabel = (d) => DIMENSIONS[d] || (d.startsWith('prop:') ? `Property ${d.slice(5)}` : d)
export const OPS = { is: 'is', is_not: 'is not', contains: 'contains' }

/** What the visit metrics cover while a filter on something that happens inside a visit
 *  (a page, an event, a goal, an event property) is on: whole visits that had it, not the
 *  page or event alone. {text, missing} or null when no such filter is on; ``missing``:
 *  the sentence for when the API has no such numbers (the daily views keep visits by
 *  their entry and exit page, not by every page they saw). */
export function visitScope (filters) {
  const inside = filters.find(f => ['page', 'event', 'goal'].includes(f.dimension) || f.dimension.startsWith('prop:'))
  if (!inside) return null
  const what = inside.dimension === 'page'
    ? (inside.op === 'is' ? `included ${inside.value}` : 'included a matching page')
    : inside.dimension === 'goal'
      ? (inside.op === 'is' ? `completed the goal ${inside.value}` : 'completed a matching goal')
      : (inside.op === 'is' && inside.dimension === 'event' ? `had the event ${inside.value}` : 'had a matching event')
  const thing = inside.dimension === 'page' ? 'that page' : 'those events'
  return {
    text: `Visits, views per visit, bounce rate and visit duration are measured over whole visits that ${what}, not over ${thing} alone.`,
    missing: `The daily views do not split visits by every ${inside.dimension === 'page' ? 'page they saw' : 'event they had'}, so these are not available here.`
  }
}

let regions = null
export function countryName (code) {
  if (!code || !/^[A-Za-z]{2}$/.test(code)) return code || '(not set)'
  try {
    regions = regions || new Intl.DisplayNames(undefined, { type: 'region' })
    return regions.of(code.toUpperCase()) || code
  } catch (e) { return code }
}

/** The API's reason as a sentence, without the pointer to the jobs API (the page's
 *  button submits the job). */
export function sentence (text) {
  if (!text) return ''
  const cut = text.replace(/:? ?submit it as an ad-hoc job \(POST \/api\/v1\/jobs\)/, '').replace(/\s*\(POST \/api\/v1\/jobs\)/, '').trim()
  const out = cut.charAt(0).toUpperCase() + cut.slice(1)
  return /[.!?]$/.test(out) ? out : out + '.'
}

/** How a breakdown value reads (country names, capitalised devices). */
export function valueLabel (dimension, value) {
  if (value === null || value === undefined || value === '') return '(not set)'
  if (dimension === 'country') return countryName(value)
  if (dimension === 'device') return value.charAt(0).toUpperCase() + value.slice(1)
  return value
}
