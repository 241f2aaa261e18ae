// The main chart: the chosen metric over the period by hour/day/week/month, the
// comparison period dashed, and what the speed layer served marked provisional (a shaded
// band and a dashed line) until the batch layer closes those days.
import { useMemo } from 'preact/hooks'
import { html } from '../html.js'
import { reportUrl } from '../api.js'
import { useFetch } from '../hooks.js'
import { linkProps } from '../route.js'
import { formatRange, periodDays, periodLabel } from '../dates.js'
import { METRICS, VISIT_METRICS, formatMetric, sentence, visitScope } from '../format.js'
import { cssVar } from '../theme.js'
import { formatTick, periodSpan, xTicks, yTicks } from '../axis.js'
import { Plot, tipLine, tooltipPlugin } from './uplot.js'

const INTERVAL_LABEL = { hour: 'Hours', day: 'Days', week: 'Weeks', month: 'Months' }

export function MainChart ({ ctx, metric }) {
  const { interval } = ctx
  const current = useFetch(reportUrl('timeseries', { ...ctx.base, metrics: [metric], interval }))
  const before = useFetch(ctx.compareBase ? reportUrl('timeseries', { ...ctx.compareBase, metrics: [metric], interval }) : null)
  const info = METRICS[metric]

  const series = useMemo(() => {
    if (!current.data) return null
    const rows = current.data.rows
    const values = rows.map(r => r[metric])
    const provisional = provisionalPeriods(rows, values, interval, new Set(current.data.meta.layers.speed))
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
  const scope = VISIT_METRICS.includes(metric) ? visitScope(ctx.route.filters) : null
  return html`<div class="chart-area" data-loaded=${loaded}>${heading}
    <figure class="chart" aria-labelledby="chart-title">
      ${allNull
        ? html`<div class="chart-empty"><p>${info.label} is not available ${scope ? 'with this filter' : 'for this period'}.</p><p class="muted small">${scope ? scope.missing : sentence((series.meta.incomplete[0] || {}).reason || '')}</p></div>`
        : html`<${TimeChart} series=${series} metric=${metric} interval=${interval} ctx=${ctx} />`}
      ${(ctx.comparison || anyProvisional) && html`<figcaption class="legend">
        <span class="legend-item"><span class="swatch line"></span>${formatRange(ctx.range.start, ctx.range.end)}</span>
        ${ctx.comparison && html`<span class="legend-item"><span class="swatch line dashed compare"></span>${formatRange(ctx.comparison.start, ctx.comparison.end)}</span>`}
        ${anyProvisional && html`<span class="legend-item" title="Served by the speed layer: the nightly batch run recomputes these days, and the numbers may still change"><span class="swatch band"></span>Provisional (speed layer)</span>`}
      </figcaption>`}
      <${DataTable} series=${series} metric=${metric} interval=${interval} ctx=${ctx} />
    </figure>
  </div>`
}

// A period the speed layer served is provisional (the nightly run may still change it),
// unless it comes before the first period with data: the days before a site's first
// event have nothing a nightly run could revise, so they are drawn as plain zeros.
function provisionalPeriods (rows, values, interval, speedDays) {
  const first = values.findIndex(v => v !== null && v !== 0)
  return rows.map((r, i) => first !== -1 && i >= first &&
    periodDays(r.period, interval).some(d => speedDays.has(d)))
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
  const periods = rows.map(r => r.period)
  const kind = METRICS[metric].kind
  const height = window.innerWidth < 600 ? 210 : 270
  const make = () => {
    const accent = cssVar('--accent')
    const grid = cssVar('--chart-grid')
    const text = cssVar('--text-muted')
    const band = cssVar('--provisional')
    const cmp = cssVar('--compare')
    const panel = cssVar('--panel')
    const fillTop = cssVar('--chart-fill-top')
    const fillBottom = cssVar('--chart-fill-bottom')
    const font = `12px ${cssVar('--font')}`
    const measure = textWidth(font)
    const fmt = (v) => formatMetric(metric, v, true)
    // the y scale and its ticks (0 to a round value above the highest point), and the x
    // labels of the plot's width, made once per size
    let y = yTicks(0, kind)
    let x = { width: -1, labels: [] }
    const xLabels = (u) => {
      const width = u.bbox.width / devicePixelRatio
      if (x.width !== width) x = { width, labels: xTicks(periods, interval, { width, measure, room: [u.bbox.left / devicePixelRatio, 14] }) }
      return x.labels
    }
    const fill = (u) => {
      const g = u.ctx.createLinearGradient(0, u.bbox.top, 0, u.bbox.top + u.bbox.height)
      g.addColorStop(0, fillTop)
      g.addColorStop(1, fillBottom)
      return g
    }
    const points = { show: n <= 16, size: 6, width: 2, fill: panel }
    return {
      legend: { show: false },
      padding: [12, 14, 0, 0],
      cursor: { y: false, drag: { x: false, y: false }, points: { size: 9, width: 2, fill: panel, stroke: (u, i) => i === 3 ? cmp : accent } },
      scales: { x: { time: false, range: [0, Math.max(1, n - 1)] }, y: { range: (u, lo, hi) => { y = yTicks(hi, kind, height < 250 ? 4 : 5); return [0, y.top] } } },
      series: [
        {},
        { label: 'final', stroke: accent, width: 2, fill, points },
        { label: 'provisional', stroke: accent, width: 2, dash: [6, 4], fill, points },
        ...(compare ? [{ label: 'comparison', stroke: cmp, width: 1.5, dash: [4, 4], points: { show: false } }] : [])
      ],
      axes: [
        {
          stroke: text, font, size: 30, gap: 10, grid: { show: false }, ticks: { show: false },
          splits: (u) => xLabels(u).map(l => l.index),
          values: (u, splits) => {
            const labels = xLabels(u)
            u.root.dataset.xTicks = JSON.stringify(labels.map(l => l.text))
            return splits.map(i => (labels.find(l => l.index === i) || { text: '' }).text)
          }
        },
        {
          stroke: text, font, gap: 10, grid: { stroke: grid, width: 1 }, ticks: { show: false },
          size: (u, shown) => Math.max(36, Math.ceil(Math.max(0, ...(shown || []).map(measure))) + 16),
          splits: () => y.ticks,
          values: (u, splits) => {
            const labels = splits.map(v => formatTick(kind, v))
            u.root.dataset.yTicks = JSON.stringify(labels)
            return labels
          }
        }
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
        const span = partial(rows[i].period, interval, ctx.range)
        if (span) tipLine(el, { label: `Only ${span} in the range`, className: 'tip-sub' })
        tipLine(el, { swatch: accent, label: METRICS[metric].short, value: fmt(values[i]) })
        if (compare && compare[i]) tipLine(el, { swatch: cmp, dashed: true, label: periodLabel(compare[i].period, interval, true), value: fmt(compare[i][metric]) })
        if (provisional[i]) tipLine(el, { label: 'Provisional: speed layer', className: 'tip-note' })
      })]
    }
  }
  return html`<${Plot} make=${make} data=${data} height=${height} deps=${[metric, interval, ctx.range.start, ctx.range.end]} />`
}

/** The days of a week or month that the range covers in part ("1 Jan – 4 Jan"), else null. */
function partial (period, interval, range) {
  if (interval !== 'week' && interval !== 'month') return null
  const span = periodSpan(period, interval, range.start, range.end)
  return span.partial ? formatRange(span.from, span.to) : null
}

const widths = new Map()
/** ``text -> px`` in ``font`` (a canvas measures it as uPlot will draw it). */
function textWidth (font) {
  const c = document.createElement('canvas').getContext('2d')
  c.font = font
  return (text) => {
    const key = font + '\n' + text
    if (!widths.has(key)) widths.set(key, c.measureText(text).width)
    return widths.get(key)
  }
}

/** The chart's numbers as a table for screen readers. */
function DataTable ({ series, metric, interval, ctx }) {
  const { rows, values, provisional, compare } = series
  return html`<div class="sr-only"><table>
    <caption>${METRICS[metric].label} by ${interval}</caption>
    <thead><tr><th scope="col">Period</th><th scope="col">${METRICS[metric].label}</th>${compare && html`<th scope="col">Comparison</th>`}</tr></thead>
    <tbody>${rows.map((r, i) => {
      const span = partial(r.period, interval, ctx.range)
      return html`<tr><th scope="row">${periodLabel(r.period, interval, true)}${span ? ` (only ${span} in the range)` : ''}${provisional[i] ? ' (provisional)' : ''}</th>
        <td>${formatMetric(metric, values[i], true)}</td>${compare && html`<td>${compare[i] ? formatMetric(metric, compare[i][metric], true) : '—'}</td>`}</tr>`
    })}</tbody>
  </table></div>`
}
