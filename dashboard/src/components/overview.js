// The site's dashboard: period, comparison and filters (all in the URL), the top stats,
// the main chart and the breakdown cards.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { html } from '../html.js'
import { reportUrl } from '../api.js'
import { useFetch } from '../hooks.js'
import { linkProps, navigate } from '../route.js'
import {
  PERIODS, comparePeriod, defaultInterval, formatRange, intervalsFor, isIsoDate, MAX_DAYS,
  resolvePeriod
} from '../dates.js'
import { METRICS, OPS, STAT_METRICS, VISIT_METRICS, delta, dimensionLabel, formatMetric, sentence, valueLabel, visitScope } from '../format.js'
import { IconArrowDown, IconArrowUp, IconCalendar, IconDown, IconInfo, IconX } from './icons.js'
import { MainChart } from './chart.js'
import { Cards } from './cards.js'

/** What every report of the page shares: site, days, filters, comparison, interval. */
export function useContext (site, route) {
  return useMemo(() => {
    const range = resolvePeriod(route, site.timezone)
    const comparison = comparePeriod(range, route.compare)
    const intervals = intervalsFor(range.days, route.filters.length > 0)
    const interval = intervals.includes(route.interval) ? route.interval : defaultInterval(range.days)
    const base = { site_id: site.site_id, ...range.query, filters: route.filters }
    const compareBase = comparison && { site_id: site.site_id, ...comparison.query, filters: route.filters }
    return { site, route, range, comparison, intervals, interval, base, compareBase }
  }, [site.site_id, site.timezone, route.period, route.from, route.to, route.compare, route.interval, JSON.stringify(route.filters)])
}

export function Overview ({ site, route, shared }) {
  const ctx = useContext(site, route)
  const metric = METRICS[route.metric] && STAT_METRICS.includes(route.metric) ? route.metric : 'visitors'
  return html`
    <div class="toolbar" role="region" aria-label="Period, comparison and filters">
      <${PeriodPicker} ctx=${ctx} />
      <${CompareSelect} route=${route} />
      <span class="grow"></span>
      <span class="zone muted" title="Days are calendar days in the site's time zone">${site.timezone}</span>
    </div>
    <${FilterChips} filters=${route.filters} />
    <section class="panel main-panel" aria-label="Top stats and chart">
      <${TopStats} ctx=${ctx} metric=${metric} />
      <${MainChart} ctx=${ctx} metric=${metric} />
    </section>
    <${Cards} ctx=${ctx} shared=${shared} />`
}

function PeriodPicker ({ ctx }) {
  const { range, route } = ctx
  const [open, setOpen] = useState(false)
  const [from, setFrom] = useState(range.start)
  const [to, setTo] = useState(range.end)
  const [problem, setProblem] = useState('')
  const box = useRef(null)
  useEffect(() => { setFrom(range.start); setTo(range.end) }, [range.start, range.end])
  useEffect(() => {
    if (!open) return
    const close = (e) => {
      if (e.type === 'keydown' ? e.key === 'Escape' : !box.current.contains(e.target)) {
        setOpen(false)
        if (e.type === 'keydown') box.current.querySelector('button').focus()
      }
    }
    document.addEventListener('mousedown', close)
    document.addEventListener('keydown', close)
    return () => { document.removeEventListener('mousedown', close); document.removeEventListener('keydown', close) }
  }, [open])
  const apply = (event) => {
    event.preventDefault()
    if (!isIsoDate(from) || !isIsoDate(to)) return setProblem('Pick both dates.')
    if (from > to) return setProblem('The start is after the end.')
    if (to > range.today) return setProblem(`The end is after today (${range.today} in ${ctx.site.timezone}).`)
    if ((new Date(to) - new Date(from)) / 86400000 + 1 > MAX_DAYS) return setProblem('A range covers three years at most.')
    setProblem('')
    setOpen(false)
    navigate({ period: 'custom', from, to, interval: '' })
  }
  const current = PERIODS.find(p => p.id === route.period) || PERIODS[3]
  const pick = (id) => ({ ...linkProps({ period: id, from: '', to: '', interval: '' }), onClick: (e) => { setOpen(false); linkProps({ period: id, from: '', to: '', interval: '' }).onClick(e) } })
  return html`<div class="picker" ref=${box}>
    <button type="button" class="btn picker-btn" aria-haspopup="true" aria-expanded=${open} onClick=${() => setOpen(!open)}>
      <${IconCalendar} /><span class="picker-label">${current.id === 'custom' ? 'Custom' : current.label}</span>
      <span class="picker-dates">${formatRange(range.start, range.end)}</span><${IconDown} />
    </button>
    ${open && html`<div class="picker-panel" role="group" aria-label="Choose a period">
      <ul class="picker-list">
        ${PERIODS.filter(p => p.id !== 'custom').map(p => html`<li><a class=${'picker-item' + (p.id === route.period ? ' active' : '')} aria-current=${p.id === route.period ? 'true' : undefined} ...${pick(p.id)}>${p.label}</a></li>`)}
      </ul>
      <form class="picker-custom" onSubmit=${apply}>
        <span class="picker-custom-title">Custom range</span>
        <label class="field compact"><span>From</span><input type="date" value=${from} max=${range.today} onInput=${e => setFrom(e.currentTarget.value)} required /></label>
        <label class="field compact"><span>To</span><input type="date" value=${to} max=${range.today} onInput=${e => setTo(e.currentTarget.value)} required /></label>
        ${problem && html`<p class="alert error small" role="alert">${problem}</p>`}
        <button class="btn primary" type="submit">Apply</button>
      </form>
    </div>`}
  </div>`
}

function CompareSelect ({ route }) {
  return html`<label class="compare"><span class="compare-label">Compare</span>
    <select value=${route.compare} onChange=${e => navigate({ compare: e.currentTarget.value })}>
      <option value="off">No comparison</option>
      <option value="previous">Previous period</option>
      <option value="year">Same period last year</option>
    </select></label>`
}

function FilterChips ({ filters }) {
  if (!filters.length) return null
  const without = (i) => filters.filter((_, j) => j !== i)
  return html`<div class="chips" role="region" aria-label="Filters">
    ${filters.map((f, i) => html`<span class="chip">
      <span><span class="chip-dim">${dimensionLabel(f.dimension)}</span> ${OPS[f.op]} <strong>${valueLabel(f.dimension, f.value)}</strong></span>
      <a class="chip-x" ...${linkProps({ filters: without(i) })} aria-label=${`Remove filter ${dimensionLabel(f.dimension)} ${OPS[f.op]} ${f.value}`} title="Remove filter"><${IconX} /></a>
    </span>`)}
    ${filters.length > 1 && html`<a class="chip-clear" ...${linkProps({ filters: [] })}>Clear all</a>`}
  </div>`
}

/** The incomplete-data notes of a report's meta that concern ``metric``. */
export function notesFor (meta, metric) {
  return ((meta && meta.incomplete) || []).filter(n => (!n.metrics && !n.dimension) || (n.metrics && n.metrics.includes(metric)))
}

function TopStats ({ ctx, metric }) {
  const url = reportUrl('aggregate', { ...ctx.base, metrics: STAT_METRICS })
  const now = useFetch(url)
  const before = useFetch(ctx.compareBase ? reportUrl('aggregate', { ...ctx.compareBase, metrics: STAT_METRICS }) : null)
  const live = useFetch(`/api/v1/realtime?site_id=${encodeURIComponent(ctx.site.site_id)}`, { refreshMs: 30000 })
  const row = now.data && now.data.rows[0]
  const prev = before.data && before.data.rows[0]
  const notes = []
  const mark = (m) => {
    const found = notesFor(now.data && now.data.meta, m)
    if (!found.length) return null
    for (const n of found) if (!notes.includes(n)) notes.push(n)
    return found.map(n => notes.indexOf(n) + 1).sort((a, b) => a - b)
  }
  const speedDays = now.data ? now.data.meta.layers.speed : []
  // a filter on a page (or an event) leaves whole visits: the visit metrics say so
  const scope = visitScope(ctx.route.filters)
  const scopeMissing = scope && row && VISIT_METRICS.every(m => row[m] === null)
  return html`<div class="stats-wrap">
    ${now.error && html`<p class="alert ${now.error.needsJob ? 'info' : 'error'}" role="alert">${now.error.needsJob
      ? html`<strong>Totals for these filters need the raw events.</strong> ${sentence(now.error.description)} The cards below can run a Spark job.` : now.error.description}</p>`}
    <div class="stats" role="group" aria-label="Top stats: choose the chart's metric" data-loaded=${now.settled && (!ctx.compareBase || before.settled) ? 'true' : 'false'}>
      <div class="stat live">
        <span class="stat-label"><span class="pulse" aria-hidden="true"></span>Live</span>
        <span class="stat-value">${live.data ? formatMetric('visitors', live.data.visitors) : live.error ? '—' : '…'}</span>
        <span class="stat-sub">visitors, last 30 min</span>
      </div>
      ${STAT_METRICS.map(m => {
        const value = row ? row[m] : undefined
        const refs = row ? mark(m) : null
        const change = row && prev ? delta(m, value, prev[m]) : null
        const why = refs ? refs.map(i => notes[i - 1].reason).join(' ') : ''
        const scoped = scope && VISIT_METRICS.includes(m)
        const title = [scoped && scope.text, why].filter(Boolean).join(' ') || `Show ${METRICS[m].label.toLowerCase()} in the chart`
        return html`<button type="button" class=${'stat' + (m === metric ? ' selected' : '')} aria-pressed=${m === metric}
            onClick=${() => navigate({ metric: m })} title=${title} aria-describedby=${scoped ? 'visit-scope' : undefined} data-metric=${m}>
          <span class="stat-label">${METRICS[m].label}</span>
          <span class="stat-value">${value === undefined ? (now.loading ? '…' : '—') : formatMetric(m, value, true)}${refs && html`<sup class="note-ref" aria-label=${`note ${refs.join(', ')}`}>${refs.join(',')}</sup>`}${scoped && html`<span class="stat-info" aria-hidden="true"><${IconInfo} /></span>`}</span>
          ${change ? html`<${Delta} change=${change} />` : ctx.comparison && prev ? html`<span class="stat-sub">no comparison</span>` : null}
        </button>`
      })}
    </div>
    ${scope && html`<p class="scope-note" id="visit-scope"><${IconInfo} /><span>${scope.text}${scopeMissing ? ` ${scope.missing}` : ''}</span></p>`}
    ${(notes.length > 0 || speedDays.length > 0) && html`<ul class="notes">
      ${notes.map((n, i) => html`<li><sup>${i + 1}</sup> ${sentence(n.reason).slice(0, -1)}${n.days ? ` (${n.days.length === 1 ? n.days[0] : `${n.days.length} days: ${n.days[0]} – ${n.days[n.days.length - 1]}`})` : ''}.</li>`)}
      ${speedDays.length > 0 && notes.length === 0 && html`<li class="muted">${speedDays.length === 1 ? speedDays[0] : `${speedDays.length} days`} from the speed layer: provisional until the nightly batch run closes ${speedDays.length === 1 ? 'it' : 'them'}.</li>`}
    </ul>`}
  </div>`
}

export function Delta ({ change }) {
  const cls = change.good === null ? 'flat' : change.good ? 'good' : 'bad'
  const word = change.direction > 0 ? 'up' : change.direction < 0 ? 'down' : 'unchanged'
  return html`<span class=${'delta ' + cls}>
    ${change.direction > 0 ? html`<${IconArrowUp} />` : change.direction < 0 ? html`<${IconArrowDown} />` : null}
    <span class="sr-only">${word} </span>${change.text}</span>`
}
