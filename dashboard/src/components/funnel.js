// Funnels: 2 or 3 steps (a page or a custom event, suggested from the period's top pages
// and events), run as the ad-hoc Spark job of kind "funnel" over the sessions of the period.
import { useState } from 'preact/hooks'
import { html } from '../html.js'
import { reportUrl } from '../api.js'
import { useFetch } from '../hooks.js'
import { navigate } from '../route.js'
import { formatRange } from '../dates.js'
import { formatMetric } from '../format.js'
import { useContext } from './overview.js'
import { AdhocJob, resultRows } from './job.js'

export function Funnel ({ site, route }) {
  const ctx = useContext(site, route)
  const initial = route.steps.length >= 2 ? route.steps : [{ type: 'page', value: '/' }, { type: 'event', value: '' }]
  const [steps, setSteps] = useState(initial)
  const pages = useFetch(reportUrl('breakdown', { site_id: site.site_id, ...ctx.range.query, dimension: 'page', metrics: ['visitors'], limit: 50 }))
  const events = useFetch(reportUrl('breakdown', { site_id: site.site_id, ...ctx.range.query, dimension: 'event', metrics: ['visitors'], limit: 50 }))
  const options = {
    page: pages.data ? pages.data.rows.map(r => r.page) : [],
    event: events.data ? events.data.rows.map(r => r.event) : []
  }
  const ready = route.steps.length >= 2
  const spec = ready && {
    site_id: site.site_id, kind: 'funnel', start: ctx.range.start,
    end: ctx.range.end > ctx.range.today ? ctx.range.today : ctx.range.end,
    steps: route.steps.map(s => ({ type: s.type, value: s.value }))
  }
  const set = (i, patch) => setSteps(steps.map((s, j) => j === i ? { ...s, ...patch } : s))
  const submit = (e) => {
    e.preventDefault()
    navigate({ steps: steps.map(s => ({ type: s.type, value: s.value.trim() })) })
  }
  return html`
    <div class="toolbar"><h1 class="h2">Funnel</h1><span class="grow"></span>
      <span class="muted small">${formatRange(ctx.range.start, ctx.range.end)} · change the period on the Dashboard page</span></div>
    <section class="panel funnel-form">
      <form onSubmit=${submit} class="stack">
        <p class="muted small">Sessions that start in the period and reach each step in order. Funnels run as a Spark job over the raw events (about half a minute).</p>
        <datalist id="funnel-page">${options.page.map(v => html`<option value=${v} />`)}</datalist>
        <datalist id="funnel-event">${options.event.map(v => html`<option value=${v} />`)}</datalist>
        <ol class="steps">
          ${steps.map((s, i) => html`<li class="step">
            <span class="step-n" aria-hidden="true">${i + 1}</span>
            <label class="field compact"><span>Step ${i + 1} type</span>
              <select value=${s.type} onChange=${e => set(i, { type: e.currentTarget.value })}><option value="page">Page visit</option><option value="event">Custom event</option></select></label>
            <label class="field compact grow"><span>Step ${i + 1} ${s.type === 'page' ? 'path' : 'event name'}</span>
              <input list=${`funnel-${s.type}`} value=${s.value} required maxLength="512" placeholder=${s.type === 'page' ? '/pricing' : 'signup'} onInput=${e => set(i, { value: e.currentTarget.value })} /></label>
            ${steps.length > 2 && html`<button type="button" class="link-btn" onClick=${() => setSteps(steps.filter((_, j) => j !== i))} aria-label=${`Remove step ${i + 1}`}>Remove</button>`}
          </li>`)}
        </ol>
        <div class="row-actions">
          ${steps.length < 3 && html`<button type="button" class="btn" onClick=${() => setSteps([...steps, { type: 'page', value: '' }])}>Add a step</button>`}
          <button type="submit" class="btn primary">Show funnel</button>
        </div>
      </form>
    </section>
    ${spec && html`<section class="panel funnel-result" aria-label="Funnel result">
      <${AdhocJob} spec=${spec} title="Funnels run as a Spark job" reason=${`Steps: ${spec.steps.map(s => s.value).join(' → ')}, sessions of ${spec.start} – ${spec.end}.`}>${(result) => html`<${FunnelChart} rows=${resultRows(result)} />`}<//>
    </section>`}`
}

const pct = (v) => v === null || v === undefined ? '—' : formatMetric('conversion_rate', v)

function FunnelChart ({ rows }) {
  const first = Math.max(1, rows[0] ? rows[0].visitors || 0 : 1)
  return html`<ol class="funnel">${rows.map((r, i) => html`<li class="funnel-step">
    <div class="funnel-head"><span class="step-n">${r.step}</span><strong>${r.value}</strong><span class="muted small">${r.type === 'page' ? 'page' : 'event'}</span></div>
    <div class="funnel-bar"><span class="bar" style=${{ width: `${Math.max(0.5, (r.visitors || 0) / first * 100)}%` }}></span>
      <span class="funnel-num">${formatMetric('visitors', r.visitors, true)} visitors · ${formatMetric('sessions', r.sessions, true)} sessions</span></div>
    <div class="muted small">${i === 0 ? 'Entered the funnel' : `${pct(r.conversion_from_previous)} of the step before · ${pct(r.conversion_from_first)} of step 1`}</div>
  </li>`)}</ol>`
}
