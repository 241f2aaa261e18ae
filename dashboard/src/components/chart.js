// The main chart: the chosen metric over the period by hour/day/week/month, the
// comparison period dashed, and what the speed layer served marked provisional (a shaded
// band and a dashed line) until the batch layer closes those days.
import { useMemo } from 'preact/hooks'
import { html } from '../html.js'
import { reportUrl } from '../api.js'
import { useFetch } from '../hooks.js'
import { linkProps } from '../route.js'
import { formatRange, periodDays, periodLabel } from '../dates.js'
import { METRICS, formatMetric } from '../format.js'
import { cssVar } from '../theme.js'
import { Plot, indexSplits, tipLine, tooltipPlugin } from './uplot.js'

const INTERVAL_LABEL = { hour: 'Hours', day: 'Days', week: 'Weeks', month: 'Months' }

export function MainChart ({ ctx, metric }) {
  const { interval } = ctx
  const current = useFetch(reportUrl('timeseries', { ...ctx.base, metrics: [metric], interval }))
  const before = useFetch(ctx.compareBase ? reportUrl('timeseries', { ...ctx.compareBase, metrics: [metric], interval }) : null)
  const info = METRICS[metric]

  const series = useMemo(() => {
    if (!current.data) return null
    const rows = current.data.rows
    const speed = new Set(current.data.meta.layers.speed)
    const provisional = rows.map(r => periodDays(r.period, interval).some(d => speed.has(d)))
    const values = rows.map(r => r[metric])
    const compare = before.data ? before.data.rows : null
    return { rows, values, provisional, compare, meta: current.data.meta }
  }, [current.data, before.data, metric, interval])

  const loaded = current.settled && (!ctx.compareBase || before.settled) ? 'true' : 'false'
  const heading = html`<div class="chart-head">
    <h2 class="h3" id="chart-title">${info.label}<span class="muted"> · ${formatRange(ctx.range.start, ctx.range.end)}</span></h2>
    ${ctx.intervals.length > 1 && html`<div class="segmented" role="group" aria-label="Interval">
      ${ctx.intervals.map(i => html`<a class=${'seg' + (i === interval ? ' active' : '')} aria-current=${i === interval ? 'true' : undefined} ...${linkProps({ interval: i })}>${INTERVAL_LABEL[i]}</a>`)}
    </div>`}
  </div>`

  if (current.error) {
    return html`<div class="chart-area" data-loaded=${loaded}>${heading}<div class="chart-empty">
      <p>${current.error.needsJob ? 'This chart with these filters needs the raw events.' : 'The chart could not load.'}</p>
      <p class="muted small">${current.error.description}</p>
      ${current.error.needsJob && interval === 'hour' && ctx.intervals.includes('day') && html`<a class="btn" ...${linkProps({ interval: 'day' })}>Show by day</a>`}
    </div></div>`
  }
  if (!series) return html`<div class="chart-area" data-loaded="false">${heading}<div class="chart-empty" role="status"><span class="spinner" aria-hidden="true"></span></div></div>`
  const anyProvisional = series.provisional.some(Boolean)
  const allNull = series.values.every(v => v === null)
  return html`<div class="chart-area" data-loaded=${loaded}>${heading}
    <figure class="chart" aria-labelledby="chart-title">
      ${allNull
        ? html`<div class="chart-empty"><p>— ${info.label} is not available for this period.</p><p class="muted small">${(series.meta.incomplete[0] || {}).reason || ''}</p></div>`
        : html`<${TimeChart} series=${series} metric=${metric} interval=${interval} ctx=${ctx} />`}
      <figcaption class="legend">
        <span class="legend-item"><span class="swatch line"></span>${formatRange(ctx.range.start, ctx.range.end)}</span>
        ${ctx.comparison && html`<span class="legend-item"><span class="swatch line dashed compare"></span>${formatRange(ctx.comparison.start, ctx.comparison.end)}</span>`}
        ${anyProvisional && html`<span class="legend-item" title="Served by the speed layer: the nightly batch run recomputes these days, and the numbers may still change"><span class="swatch band"></span>Provisional (speed layer)</span>`}
      </figcaption>
      <${DataTable} series=${series} metric=${metric} interval=${interval} ctx=${ctx} />
    </figure>
  </div>`
}

function TimeChart ({ series, metric, interval, ctx }) {
  const { rows, values, provisional, compare } = series
  const n = rows.length
  const data = useMemo(() => {
    const x = rows.map((_, i) => i)
    const final = values.map((v, i) => provisional[i] ? null : v)
    // the dashed part starts at the last final point, so the line has no gap
    const prov = values.map((v, i) => (provisional[i] || provisional[i + 1]) ? v : null)
    const out = [x, final, prov]
    if (compare) out.push(x.map(i => compare[i] ? compare[i][metric] : null))
    return out
  }, [series])
  // hours over several days: the axis names the day too
  const hoursOfDays = interval === 'hour' && ctx.range.days > 1
  const axisLabel = (period) => hoursOfDays ? `${periodLabel(period.slice(0, 10), 'day')} ${periodLabel(period, 'hour')}` : periodLabel(period, interval)
  const make = (width) => {
    const accent = cssVar('--accent')
    const grid = cssVar('--grid')
    const text = cssVar('--text-muted')
    const fill = cssVar('--accent-fill')
    const band = cssVar('--provisional')
    const cmp = cssVar('--compare')
    const font = `12px ${cssVar('--font')}`
    const points = { show: n <= 45, size: 5, fill: accent }
    const fmt = (v) => formatMetric(metric, v)
    return {
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 8 } },
      scales: { x: { time: false, range: [0, Math.max(1, n - 1)] }, y: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.12 : 1] } },
      series: [
        {},
        { label: 'final', stroke: accent, width: 2, fill, points },
        { label: 'provisional', stroke: accent, width: 2, dash: [6, 4], fill, points },
        ...(compare ? [{ label: 'comparison', stroke: cmp, width: 1.5, dash: [4, 4], points: { show: false } }] : [])
      ],
      axes: [
        { stroke: text, font, grid: { show: false }, ticks: { show: false }, splits: indexSplits(n, (width < 500 ? 70 : 90) + (hoursOfDays ? 30 : 0)), values: (u, splits) => splits.map(i => rows[i] ? axisLabel(rows[i].period) : '') },
        { stroke: text, font, size: 56, grid: { stroke: grid, width: 1 }, ticks: { show: false }, values: (u, splits) => splits.map(fmt), splits: (u, ax, min, max) => niceSplits(max, metric) }
      ],
      hooks: {
        drawClear: [(u) => {
          const first = provisional.indexOf(true)
          if (first < 0) return
          const step = n > 1 ? (u.valToPos(1, 'x', true) - u.valToPos(0, 'x', true)) : u.bbox.width
          const x0 = Math.max(u.bbox.left, u.valToPos(first, 'x', true) - step / 2)
          const x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(n - 1, 'x', true) + step / 2)
          u.ctx.save()
          u.ctx.fillStyle = band
          u.ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height)
          u.ctx.restore()
        }]
      },
      plugins: [tooltipPlugin((el, i) => {
        tipLine(el, { label: periodLabel(rows[i].period, interval, true), className: 'tip-title' })
        tipLine(el, { swatch: accent, label: METRICS[metric].short, value: fmt(values[i]) })
        if (compare && compare[i]) tipLine(el, { swatch: cmp, dashed: true, label: periodLabel(compare[i].period, interval, true), value: fmt(compare[i][metric]) })
        if (provisional[i]) tipLine(el, { label: 'Provisional: speed layer', className: 'tip-note' })
      })]
    }
  }
  return html`<${Plot} make=${make} data=${data} height=${window.innerWidth < 600 ? 200 : 260} deps=${[metric, interval, ctx.range.start]} />`
}

/** 0 and 3-4 round steps up to the max (so the axis reads 0, 500, 1k, 1.5k). */
function niceSplits (max, metric) {
  if (!(max > 0)) return [0]
  const target = max / 1.12 / 3
  const pow = Math.pow(10, Math.floor(Math.log10(target)))
  let step = [1, 2, 2.5, 5, 10].map(m => m * pow).find(s => s >= target) || pow * 10
  if (METRICS[metric].kind === 'count') step = Math.max(1, Math.round(step))
  const out = []
  for (let v = 0; v <= max + 1e-9; v += step) out.push(v)
  return out
}

/** The chart's numbers as a table for screen readers. */
function DataTable ({ series, metric, interval, ctx }) {
  const { rows, values, provisional, compare } = series
  return html`<div class="sr-only"><table>
    <caption>${METRICS[metric].label} by ${interval}</caption>
    <thead><tr><th scope="col">Period</th><th scope="col">${METRICS[metric].label}</th>${compare && html`<th scope="col">Comparison</th>`}</tr></thead>
    <tbody>${rows.map((r, i) => html`<tr><th scope="row">${periodLabel(r.period, interval, true)}${provisional[i] ? ' (provisional)' : ''}</th>
      <td>${formatMetric(metric, values[i], true)}</td>${compare && html`<td>${compare[i] ? formatMetric(metric, compare[i][metric], true) : '—'}</td>`}</tr>`)}</tbody>
  </table></div>`
}
