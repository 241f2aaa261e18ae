// The charts' axes: round y ticks with a gridline each (0, 250, 500 … written 1.25k, 3.4M)
// and x labels that fit: every hour, day, week or month up to a round step, anchored on
// round values (whole hours, midnight, Mondays, the 1st of a month, quarters), never cut
// at an edge.
import { addDays, addMonths, formatDay } from './dates.js'

const whole = new Intl.NumberFormat()
const upTo1 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 })
const upTo2 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 })
const percentTick = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 })
const UNITS = [[1e3, 'k'], [1e6, 'M'], [1e9, 'B'], [1e12, 'T']]

/** A count as 950, 1.2k, 12.5k, 3.4M (``digits`` decimals at most; 999,960 is 1M). */
export function formatCompact (n, digits = 1) {
  if (Math.abs(n) < 1000) return whole.format(Math.round(n))
  const scale = Math.pow(10, digits)
  const format = digits === 1 ? upTo1 : digits === 2 ? upTo2 : new Intl.NumberFormat(undefined, { maximumFractionDigits: digits })
  let i = 0
  while (i < UNITS.length - 1 && Math.abs(Math.round(n / UNITS[i][0] * scale) / scale) >= 1000) i++
  return format.format(Math.round(n / UNITS[i][0] * scale) / scale) + UNITS[i][1]
}

/** Seconds as an axis reads them: 0s, 45s, 1m, 1m 30s, 2h, 1h 30m. */
export function formatDurationTick (s) {
  if (s < 60) return `${Math.round(s)}s`
  if (s < 3600) return s % 60 ? `${Math.floor(s / 60)}m ${Math.round(s % 60)}s` : `${s / 60}m`
  const m = Math.round(s / 60)
  return m % 60 ? `${Math.floor(m / 60)}h ${m % 60}m` : `${m / 60}h`
}

/** A y tick of a metric of ``kind`` (count, rate, duration, decimal). */
export function formatTick (kind, v) {
  switch (kind) {
    case 'rate': return percentTick.format(v)
    case 'duration': return formatDurationTick(v)
    case 'decimal': return upTo2.format(v)
    default: return formatCompact(v, 2)
  }
}

const DECADE = [1, 2, 2.5, 5]
const DURATION_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]

function* roundSteps (kind) {
  if (kind === 'duration') { yield * DURATION_STEPS; return }
  // counts in whole numbers (2.5 only from 25 up); rates to 0.1 % (0.001); decimals 0.01
  for (let pow = kind === 'count' ? 1 : kind === 'rate' ? 0.001 : 0.01; pow < 1e15; pow *= 10) {
    for (const m of DECADE) {
      const step = Math.round(m * pow * 1e6) / 1e6
      if (kind !== 'count' || Number.isInteger(step)) yield step
    }
  }
}

const EMPTY_TOP = { count: 4, rate: 1, duration: 60, decimal: 1 }

/** The y axis of values up to ``max``: {top, ticks} with 0 at the bottom, a round step and
 *  at most ``intervals`` intervals; ``top`` is the first tick above ``max`` (so the line
 *  never touches the top), but rates stop at 100 %. No data (max 0 or unknown): a scale of
 *  the kind's own (0 to 4, to 100 %, to 1m, to 1). */
export function yTicks (max, kind = 'count', intervals = 5) {
  const empty = !(max > 0)
  const limit = empty ? (EMPTY_TOP[kind] || 4) : max
  let step
  let count
  for (const s of roundSteps(kind)) {
    step = s
    count = empty ? Math.ceil(limit / s - 1e-9) : Math.floor(limit / s + 1e-9) + 1
    if (kind === 'rate' && limit <= 1) count = Math.min(count, Math.round(1 / s))
    if (count <= intervals) break
  }
  const ticks = []
  for (let i = 0; i <= count; i++) ticks.push(Math.round(i * step * 1e6) / 1e6)
  return { top: ticks[ticks.length - 1], ticks }
}

// -- x axis ------------------------------------------------------------------------------

const dayOf = (period) => period.slice(0, 10)
const hourOf = (period) => parseInt(period.slice(11, 13), 10)
const monthIndex = (iso) => parseInt(iso.slice(0, 4), 10) * 12 + parseInt(iso.slice(5, 7), 10) - 1
const isMonday = (iso) => new Date(`${iso}T00:00:00Z`).getUTCDay() === 1

/** The ways to label an x axis of ``interval``, finest first: which indexes get a label
 *  (``at``), the smallest distance between two of them in periods (``every``), and how a
 *  label reads (``label(i, withYear)``). ``periods``: the timeseries' period strings. */
function schemes (periods, interval) {
  const out = []
  const everyK = (k, label, anchor = () => true) => {
    const first = periods.findIndex((p, i) => anchor(i))
    return { every: k, label, at: (i) => i >= first && first >= 0 && (i - first) % k === 0 && anchor(i) }
  }
  const dayLabel = (i, year) => formatDay(dayOf(periods[i]), year ? { day: 'numeric', month: 'short', year: 'numeric' } : { day: 'numeric', month: 'short' })
  const monthLabel = (iso, year) => formatDay(iso, year ? { month: 'short', year: 'numeric' } : { month: 'short' })
  if (interval === 'hour') {
    const days = new Set(periods.map(dayOf)).size
    const time = (i) => periods[i].slice(11, 16)
    const label = days > 1 ? (i, year) => hourOf(periods[i]) === 0 ? dayLabel(i, year) : time(i) : time
    // a repeated hour (clocks going back) is labelled once
    const repeated = (i) => i > 0 && time(i) === time(i - 1)
    for (const k of [1, 2, 3, 4, 6, 12]) out.push({ every: k, label, at: (i) => hourOf(periods[i]) % k === 0 && !repeated(i) })
    if (days > 1) {
      const midnights = periods.map((p, i) => i).filter(i => hourOf(periods[i]) === 0)
      for (const k of [1, 2, 3, 7]) out.push({ every: 24 * k, label: dayLabel, at: (i) => midnights.indexOf(i) % k === 0 && midnights.includes(i) })
    }
    return out
  }
  if (interval === 'day') {
    // every day, or every 2 or 3 days over two weeks at most; beyond, Mondays or months
    for (const k of periods.length <= 15 ? [1, 2, 3] : [1]) out.push(everyK(k, dayLabel))
    const mondays = (i) => isMonday(periods[i])
    out.push(everyK(7, dayLabel, mondays))
    out.push(everyK(14, dayLabel, mondays))
    const firsts = (i) => periods[i].slice(8, 10) === '01'
    for (const k of [1, 2, 3, 6, 12]) {
      out.push({ every: 28 * k, label: (i, year) => monthLabel(periods[i], year), at: (i) => firsts(i) && monthIndex(periods[i]) % k === 0 })
    }
    return out
  }
  if (interval === 'week') {
    for (const k of [1, 2, 4, 8, 13, 26, 52]) out.push(everyK(k, dayLabel))
    return out
  }
  // months: quarters and halves on the calendar's own (Jan, Apr, Jul, Oct)
  for (const k of [1, 2, 3, 6, 12]) out.push({ every: k, label: (i, year) => monthLabel(periods[i], year), at: (i) => monthIndex(periods[i]) % k === 0 })
  return out
}

/** The x labels of a plot ``width`` px wide whose labels are ``measure(text)`` px wide:
 *  [{index, text}], each at least ``gap`` px from the next; a label that would stick out
 *  more than ``room`` px past the plot's left or right edge is left out. A label names its
 *  year when the periods span more than one (on the first label and where it changes). */
export function xTicks (periods, interval, { width, measure, gap = 16, room = [40, 12] }) {
  const n = periods.length
  if (!n) return []
  const years = interval !== 'hour' && new Set(periods.map(p => p.slice(0, 4))).size > 1
  const perPeriod = n > 1 ? width / (n - 1) : width
  let found = []
  for (const scheme of schemes(periods, interval)) {
    const picked = periods.map((_, i) => i).filter(i => scheme.at(i))
    if (!picked.length) continue
    found = picked.map((index, j) => {
      const year = years && (j === 0 || periods[index].slice(0, 4) !== periods[picked[j - 1]].slice(0, 4))
      return { index, text: scheme.label(index, year), width: measure(scheme.label(index, year)) }
    })
    const widest = Math.max(...found.map(l => l.width))
    if (scheme.every * perPeriod >= widest + gap) break
  }
  const x = (i) => n > 1 ? i * perPeriod : width / 2
  return found
    .filter(l => x(l.index) - l.width / 2 >= -room[0] && x(l.index) + l.width / 2 <= width + room[1])
    .map(({ index, text }) => ({ index, text }))
}

/** The days of a week or month period inside the range [start, end]: the read API's first
 *  and last buckets can be partial (a week bucket starts on the Monday on or before the
 *  day, a month bucket on the 1st). */
export function periodSpan (period, interval, start, end) {
  const first = dayOf(period)
  let last = first
  if (interval === 'week') last = addDays(first, 6)
  if (interval === 'month') last = addDays(addMonths(`${first.slice(0, 7)}-01`, 1), -1)
  const from = first < start ? start : first
  const to = last > end ? end : last
  return { from, to, partial: from !== first || to !== last }
}
