// Calendar days in the SITE's time zone (not the browser's), as 'YYYY-MM-DD' strings.
// Arithmetic is on UTC dates, which have no DST, so a day is always a day.

export const PERIODS = [
  { id: 'today', label: 'Today', key: 'd' },
  { id: 'yesterday', label: 'Yesterday', key: 'e' },
  { id: '7d', label: 'Last 7 days', key: 'w' },
  { id: '30d', label: 'Last 30 days', key: 't' },
  { id: 'month', label: 'Month to date', key: 'm' },
  { id: 'lastmonth', label: 'Last month', key: 'l' },
  { id: '12mo', label: 'Last 12 months', key: 'y' },
  { id: 'custom', label: 'Custom range', key: 'c' }
]
const NAMED = { today: 'today', yesterday: 'yesterday', '7d': '7d', '30d': '30d', month: 'month' }
export const MAX_DAYS = 3 * 366

export function todayIn (timeZone, now = new Date()) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit'
  }).formatToParts(now).map(p => [p.type, p.value]))
  return `${parts.year}-${parts.month}-${parts.day}`
}

const toDate = (iso) => new Date(`${iso}T00:00:00Z`)
const toIso = (d) => d.toISOString().slice(0, 10)

export function addDays (iso, n) {
  const d = toDate(iso)
  d.setUTCDate(d.getUTCDate() + n)
  return toIso(d)
}

export function addMonths (iso, n) {
  const d = toDate(iso)
  const day = d.getUTCDate()
  d.setUTCDate(1)
  d.setUTCMonth(d.getUTCMonth() + n)
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate()
  d.setUTCDate(Math.min(day, last))
  return toIso(d)
}

export const daysBetween = (a, b) => Math.round((toDate(b) - toDate(a)) / 86400000) + 1
export const isIsoDate = (s) => /^\d{4}-\d{2}-\d{2}$/.test(s || '') && !isNaN(toDate(s))

/** The days of a period in a zone: {start, end, days, query} where ``query`` is what the
 *  read API is sent (a named range when it has one, else custom start/end). */
export function resolvePeriod (state, timeZone, now = new Date()) {
  const today = todayIn(timeZone, now)
  let start = today
  let end = today
  switch (state.period) {
    case 'today': break
    case 'yesterday': start = end = addDays(today, -1); break
    case '7d': start = addDays(today, -6); break
    case 'month': start = today.slice(0, 8) + '01'; break
    case 'lastmonth': {
      start = addMonths(today.slice(0, 8) + '01', -1)
      end = addDays(today.slice(0, 8) + '01', -1)
      break
    }
    case '12mo': start = addMonths(today.slice(0, 8) + '01', -11); break
    case 'custom':
      if (isIsoDate(state.from) && isIsoDate(state.to) && state.from <= state.to) {
        start = state.from
        end = state.to
        break
      }
      start = addDays(today, -29); break
    default: start = addDays(today, -29)
  }
  const named = NAMED[state.period]
  const query = named ? { date_range: named } : { date_range: 'custom', start, end }
  return { start, end, today, days: daysBetween(start, end), query }
}

/** The comparison period: the same number of days just before, or a year earlier. */
export function comparePeriod (range, compare) {
  if (compare === 'previous') {
    const end = addDays(range.start, -1)
    const start = addDays(end, -(range.days - 1))
    return { start, end, days: range.days, query: { date_range: 'custom', start, end } }
  }
  if (compare === 'year') {
    const start = addMonths(range.start, -12)
    const end = addMonths(range.end, -12)
    return { start, end, days: daysBetween(start, end), query: { date_range: 'custom', start, end } }
  }
  return null
}

/** The main chart's intervals for a range of ``days`` (the read API's ``interval``): hours
 *  up to a month (the API allows 93 days, but 2,000 points read as noise) and not with
 *  filters over several days (an hourly series with filters needs the raw events: the API
 *  answers needs_adhoc_job); days from 2 days, weeks from 2 weeks, months from 2 months. */
export function intervalsFor (days, filtered = false) {
  if (days <= 1) return ['hour']
  const found = []
  if (days <= 31 && !filtered) found.push('hour')
  found.push('day')
  if (days >= 14) found.push('week')
  if (days >= 60) found.push('month')
  return found
}

/** The interval a range opens with: hours for a day, days up to a quarter, weeks up to
 *  half a year, months beyond. */
export function defaultInterval (days) {
  if (days <= 1) return 'hour'
  if (days <= 93) return 'day'
  if (days <= 186) return 'week'
  return 'month'
}

const fmtCache = new Map()
function fmt (options) {
  const key = JSON.stringify(options)
  if (!fmtCache.has(key)) fmtCache.set(key, new Intl.DateTimeFormat(undefined, { timeZone: 'UTC', ...options }))
  return fmtCache.get(key)
}

export const formatDay = (iso, opts = { day: 'numeric', month: 'short' }) => fmt(opts).format(toDate(iso))

export function formatRange (start, end) {
  const sameYear = start.slice(0, 4) === end.slice(0, 4)
  const thisYear = start.slice(0, 4) === String(new Date().getUTCFullYear())
  const full = { day: 'numeric', month: 'short', year: 'numeric' }
  if (start === end) return formatDay(start, thisYear ? { weekday: 'short', day: 'numeric', month: 'short' } : full)
  return `${formatDay(start, sameYear ? { day: 'numeric', month: 'short' } : full)} – ${formatDay(end, sameYear && thisYear ? { day: 'numeric', month: 'short' } : full)}`
}

/** A period label of the timeseries: '2026-11-03' (a day, week or month) or an ISO
 *  instant with the site's offset (an hour: its wall-clock time is in the string). */
export function periodLabel (period, interval, long = false) {
  if (interval === 'hour') {
    const time = period.slice(11, 16)
    return long ? `${formatDay(period.slice(0, 10), { weekday: 'short', day: 'numeric', month: 'short' })}, ${time}` : time
  }
  if (interval === 'month') return formatDay(period, { month: long ? 'long' : 'short', year: 'numeric' })
  // weeks are the read API's: Monday to Sunday (ISO), named by their Monday
  if (interval === 'week') return long ? `Week of ${formatDay(period, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' })}` : formatDay(period)
  return formatDay(period, long ? { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' } : { day: 'numeric', month: 'short' })
}

/** The site-local days a timeseries period covers. */
export function periodDays (period, interval) {
  const day = period.slice(0, 10)
  if (interval === 'week') return Array.from({ length: 7 }, (_, i) => addDays(day, i))
  if (interval === 'month') {
    const next = addMonths(day.slice(0, 8) + '01', 1)
    return Array.from({ length: daysBetween(day, addDays(next, -1)) }, (_, i) => addDays(day, i))
  }
  return [day]
}
