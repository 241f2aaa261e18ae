// The last 30 minutes, minute by minute, with top pages and sources; refreshed every 5 s
// (the "Updated" line is no live region: a screen reader would read it out every 5 s).
import { useMemo } from 'preact/hooks'
import { html } from '../html.js'
import { useFetch } from '../hooks.js'
import { formatMetric } from '../format.js'
import { cssVar } from '../theme.js'
import { formatTick, yTicks } from '../axis.js'
import { Plot, indexSplits, tipLine, tooltipPlugin, uPlot } from './uplot.js'

export function Realtime ({ site }) {
  const live = useFetch(`/api/v1/realtime?site_id=${encodeURIComponent(site.site_id)}`, { refreshMs: 5000 })
  const data = live.data
  return html`
    <div class="toolbar"><h1 class="h2"><span class="pulse" aria-hidden="true"></span> Realtime</h1><span class="grow"></span>
      <span class="muted small">${data ? `Updated ${new Date().toLocaleTimeString(undefined, { timeZone: site.timezone })} (${site.timezone}) · refreshes every 5 s` : ''}</span></div>
    ${live.error && html`<p class="alert error" role="alert">${live.error.description}</p>`}
    <section class="panel main-panel" aria-label="Last 30 minutes">
      <div class="stats">
        <div class="stat"><span class="stat-label">Visitors</span><span class="stat-value">${data ? formatMetric('visitors', data.visitors, true) : '…'}</span><span class="stat-sub">last 30 minutes</span></div>
        <div class="stat"><span class="stat-label">Pageviews</span><span class="stat-value">${data ? formatMetric('pageviews', data.pageviews, true) : '…'}</span><span class="stat-sub">last 30 minutes</span></div>
        <div class="stat"><span class="stat-label">Custom events</span><span class="stat-value">${data ? formatMetric('events', data.events, true) : '…'}</span><span class="stat-sub">last 30 minutes</span></div>
      </div>
      <div class="chart-area">
        <div class="chart-head"><h2 class="h3" id="rt-title">Pageviews per minute</h2></div>
        <figure class="chart" aria-labelledby="rt-title">
          ${data ? html`<${MinuteBars} minutes=${data.minutes} />` : html`<div class="chart-empty" role="status"><span class="spinner" aria-hidden="true"></span></div>`}
          ${data && html`<div class="sr-only"><table><caption>Pageviews and visitors per minute</caption>
            <thead><tr><th scope="col">Minute</th><th scope="col">Pageviews</th><th scope="col">Visitors</th></tr></thead>
            <tbody>${data.minutes.map(m => html`<tr><th scope="row">${m.minute.slice(11, 16)}</th><td>${m.pageviews}</td><td>${m.visitors}</td></tr>`)}</tbody></table></div>`}
        </figure>
      </div>
    </section>
    <div class="cards">
      <${TopList} title="Top pages" column="Page" rows=${data ? data.pages : null} field="page" />
      <${TopList} title="Top sources" column="Source" rows=${data ? data.sources : null} field="source" />
    </div>`
}

function MinuteBars ({ minutes }) {
  // a minute without pageviews has no bar (not a flat one)
  const data = useMemo(() => [minutes.map((_, i) => i), minutes.map(m => m.pageviews || null)], [minutes])
  const minuteOf = (i) => parseInt(minutes[i].minute.slice(14, 16), 10)
  const make = () => {
    const accent = cssVar('--accent')
    const text = cssVar('--text-muted')
    const font = `12px ${cssVar('--font')}`
    let y = yTicks(0)
    return {
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: { x: { time: false, range: [-0.5, minutes.length - 0.5] }, y: { range: (u, lo, hi) => { y = yTicks(hi, 'count', 4); return [0, y.top] } } },
      series: [{}, { label: 'pageviews', fill: accent, stroke: accent, paths: uPlot.paths.bars({ size: [0.7, 24], gap: 2 }), points: { show: false } }],
      axes: [
        { stroke: text, font, grid: { show: false }, ticks: { show: false }, splits: indexSplits(minutes.length, 64, [1, 2, 5, 10, 15], (i, step) => minuteOf(i) % step === 0), values: (u, s) => s.map(i => minutes[i] ? minutes[i].minute.slice(11, 16) : '') },
        { stroke: text, font, size: 44, gap: 10, grid: { stroke: cssVar('--chart-grid'), width: 1 }, ticks: { show: false }, splits: () => y.ticks, values: (u, s) => s.map(v => formatTick('count', v)) }
      ],
      plugins: [tooltipPlugin((el, i) => {
        tipLine(el, { label: minutes[i].minute.slice(11, 16), className: 'tip-title' })
        tipLine(el, { swatch: accent, label: 'Pageviews', value: String(minutes[i].pageviews) })
        tipLine(el, { label: 'Visitors', value: String(minutes[i].visitors) })
        if (minutes[i].events) tipLine(el, { label: 'Custom events', value: String(minutes[i].events) })
      })]
    }
  }
  return html`<${Plot} make=${make} data=${data} height=${window.innerWidth < 600 ? 180 : 220} />`
}

function TopList ({ title, column, rows, field }) {
  const top = rows ? Math.max(1, ...rows.map(r => r.visitors || 0)) : 1
  return html`<section class="panel card" aria-label=${title}>
    <div class="card-head"><h2 class="h3">${title}</h2></div>
    ${!rows ? html`<div class="list-loading" role="status"><span class="spinner" aria-hidden="true"></span></div>`
      : !rows.length ? html`<p class="empty">Nobody in the last 30 minutes.</p>`
      : html`<div class="list" role="table" aria-label=${title}>
        <div class="list-head" role="row"><span role="columnheader">${column}</span><span role="columnheader" class="num">Pageviews</span><span role="columnheader" class="num">Visitors</span></div>
        ${rows.map(r => html`<div class="list-row" role="row">
          <span role="cell" class="row-main"><span class="bar" style=${{ width: `${Math.max(0.5, (r.visitors || 0) / top * 100)}%` }}></span><span class="row-label">${r[field] || '(direct)'}</span></span>
          <span role="cell" class="num muted">${formatMetric('pageviews', r.pageviews)}</span>
          <span role="cell" class="num">${formatMetric('visitors', r.visitors)}</span></div>`)}
      </div>`}
  </section>`
}
