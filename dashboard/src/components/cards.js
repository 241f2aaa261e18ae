// The breakdown cards. Each tab is one breakdown of the read API (the same query as the
// rest of the page plus a dimension); a row's bar is proportional to its visitors;
// clicking a row filters the whole dashboard by it; "Details" lists more rows; CSV is the
// API's own format=csv of the same query. A 400 needs_adhoc_job becomes a Spark job.
// Each card says data-loaded="true" once its tab's answer (rows, none, an error or the
// offer of a Spark job) is on screen, and names that tab's dimension (data-dimension).
import { useEffect, useRef, useState } from 'preact/hooks'
import { html } from '../html.js'
import { download, reportUrl } from '../api.js'
import { useFetch, useStored } from '../hooks.js'
import { navigate } from '../route.js'
import { METRICS, dimensionLabel, formatMetric, sentence, valueLabel } from '../format.js'
import { AdhocJob, resultRows, useJob } from './job.js'
import { IconDownload, IconExpand, IconX } from './icons.js'

const SESSION_METRICS = ['visitors', 'sessions', 'bounce_rate', 'visit_duration']
const JOB_METRICS = ['visitors', 'pageviews', 'events']
const JOB_SESSION_METRICS = ['visitors', 'sessions', 'bounce_rate', 'visit_duration']
const TOP = 9

const tab = (id, label, dimension, extra = {}) => ({
  id, label, dimension, title: extra.title || label, column: extra.column || dimensionLabel(dimension),
  metrics: extra.metrics || ['visitors'], details: extra.details || SESSION_METRICS,
  jobMetrics: extra.jobMetrics || JOB_SESSION_METRICS, side: extra.side, ...extra
})

const CARDS = [
  { id: 'pages', tabs: [
    tab('page', 'Top pages', 'page', { details: ['visitors', 'pageviews'], jobMetrics: JOB_METRICS }),
    tab('entry', 'Entry pages', 'entry_page'),
    tab('exit', 'Exit pages', 'exit_page')] },
  { id: 'sources', tabs: [
    tab('channel', 'Channels', 'channel', { title: 'Top channels' }),
    tab('source', 'Sources', 'source', { title: 'Top sources' }),
    tab('referrer', 'Referrers', 'referrer', { title: 'Top referrers' }),
    tab('medium', 'UTM medium', 'medium'),
    tab('campaign', 'UTM campaign', 'campaign')] },
  { id: 'locations', tabs: [tab('country', 'Countries', 'country')] },
  { id: 'devices', tabs: [
    tab('device', 'Devices', 'device'),
    tab('browser', 'Browsers', 'browser'),
    tab('os', 'OS', 'os', { column: 'Operating system' }),
    tab('screen', 'Screen sizes', 'screen_size')] },
  { id: 'goals', goals: true, tabs: [
    tab('goal', 'Goal conversions', 'goal', { metrics: ['visitors', 'conversions', 'conversion_rate'], details: ['visitors', 'conversions', 'conversion_rate'], jobMetrics: ['visitors', 'events'], side: 'conversion_rate' })] },
  { id: 'events', tabs: [
    tab('event', 'Custom events', 'event', { metrics: ['visitors', 'events'], details: ['visitors', 'events'], jobMetrics: ['visitors', 'events'], side: 'events' }),
    tab('props', 'Properties', null, { props: true, metrics: ['visitors', 'events'], details: ['visitors', 'events'], jobMetrics: ['visitors', 'events'], side: 'events', column: 'Value' })] }
]

export function Cards ({ ctx }) {
  return html`<div class="cards">${CARDS.map(card => html`<${Card} key=${card.id} card=${card} ctx=${ctx} />`)}</div>`
}

function Card ({ card, ctx }) {
  const [tabId, setTabId] = useStored(`sitelens-tab-${card.id}`, card.tabs[0].id)
  const [propKey, setPropKey] = useStored(`sitelens-prop-${ctx.site.site_id}`, '')
  let active = card.tabs.find(t => t.id === tabId) || card.tabs[0]
  if (active.props) active = { ...active, dimension: propKey ? `prop:${propKey}` : null, title: propKey ? `Property ${propKey}` : 'Properties' }
  const ids = { title: `card-${card.id}-title`, panel: `card-${card.id}-panel` }
  const [answered, setAnswered] = useState(null) // the query whose answer is shown
  const fetches = !(card.goals && !ctx.site.goals?.length) && active.dimension
  const loaded = !fetches || answered === tabQueryKey(ctx, active)
  return html`<section class="panel card" aria-labelledby=${ids.title} data-card=${card.id} data-dimension=${active.dimension || undefined} data-loaded=${loaded ? 'true' : 'false'}>
    <div class="card-head">
      <h2 class="h3" id=${ids.title}>${active.title}</h2>
      ${card.tabs.length > 1 && html`<${Tabs} tabs=${card.tabs} active=${active.id} onPick=${setTabId} panel=${ids.panel} label=${`${card.tabs.map(t => t.label).join(', ')}`} />`}
    </div>
    <div id=${ids.panel} role=${card.tabs.length > 1 ? 'tabpanel' : undefined} aria-labelledby=${card.tabs.length > 1 ? `${ids.panel}-tab-${active.id}` : undefined} class="card-body">
      ${active.props && html`<${PropKeyForm} value=${propKey} onPick=${setPropKey} site=${ctx.site} />`}
      ${card.goals && !ctx.site.goals?.length
        ? html`<p class="empty">No goals yet. An admin can add goals (a custom event name or a page path) in Settings.</p>`
        : active.dimension
          ? html`<${Breakdown} key=${active.dimension} tab=${active} ctx=${ctx} onAnswer=${setAnswered} />`
          : html`<p class="empty">Type the key of a custom event property (for example <code>plan</code>) to break its values down.</p>`}
    </div>
  </section>`
}

function Tabs ({ tabs, active, onPick, panel, label }) {
  const list = useRef(null)
  const onKey = (event) => {
    const i = tabs.findIndex(t => t.id === active)
    const step = { ArrowRight: 1, ArrowLeft: -1, Home: -i, End: tabs.length - 1 - i }[event.key]
    if (step === undefined) return
    event.preventDefault()
    const next = tabs[(i + step + tabs.length) % tabs.length]
    onPick(next.id)
    setTimeout(() => list.current && list.current.querySelector(`[data-tab="${next.id}"]`)?.focus())
  }
  return html`<div class="tabs" role="tablist" aria-label=${label} ref=${list} onKeyDown=${onKey}>
    ${tabs.map(t => html`<button type="button" role="tab" id=${`${panel}-tab-${t.id}`} data-tab=${t.id} aria-selected=${t.id === active}
      aria-controls=${panel} tabIndex=${t.id === active ? 0 : -1} class=${'tab' + (t.id === active ? ' active' : '')} onClick=${() => onPick(t.id)}>${t.label}</button>`)}
  </div>`
}

function PropKeyForm ({ value, onPick, site }) {
  const [text, setText] = useState(value)
  const [known, setKnown] = useStored(`sitelens-prop-keys-${site.site_id}`, '')
  const keys = known ? known.split('\n') : []
  const submit = (e) => {
    e.preventDefault()
    const key = text.trim()
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(key)) return
    onPick(key)
    if (!keys.includes(key)) setKnown([key, ...keys].slice(0, 20).join('\n'))
  }
  return html`<form class="prop-form" onSubmit=${submit}>
    <label class="field compact inline"><span>Property key</span>
      <input list=${`prop-keys-${site.site_id}`} value=${text} onInput=${e => setText(e.currentTarget.value)} pattern="[A-Za-z0-9_.:\\-]{1,64}" placeholder="e.g. plan" required /></label>
    <datalist id=${`prop-keys-${site.site_id}`}>${keys.map(k => html`<option value=${k} />`)}</datalist>
    <button class="btn small" type="submit">Show</button>
  </form>`
}

function addFilter (ctx, dimension, value) {
  const filters = ctx.route.filters.filter(f => f.dimension !== dimension)
  navigate({ filters: [...filters, { dimension, op: 'is', value }] })
}

/** The query of a tab: the page's query plus the dimension. */
const tabQuery = (ctx, tab, metrics, limit) => ({ ...ctx.base, dimension: tab.dimension, metrics, limit })
const tabQueryKey = (ctx, tab) => reportUrl('breakdown', tabQuery(ctx, tab, tab.metrics, TOP))

function jobSpec (ctx, tab) {
  return {
    site_id: ctx.site.site_id, kind: 'breakdown', start: ctx.range.start,
    end: ctx.range.end > ctx.range.today ? ctx.range.today : ctx.range.end,
    dimension: tab.dimension, metrics: tab.jobMetrics, filters: ctx.route.filters, limit: 100
  }
}

function Breakdown ({ tab, ctx, onAnswer }) {
  const url = tabQueryKey(ctx, tab)
  const found = useFetch(url)
  useEffect(() => { onAnswer(found.settled ? url : null) }, [found.settled, url])
  const [details, setDetails] = useState(false)
  const spec = jobSpec(ctx, tab)
  const [job] = useJob(spec)
  const csv = () => download(reportUrl('breakdown', tabQuery(ctx, tab, tab.details, 10000), 'csv'), `${ctx.site.site_id}-${tab.dimension}-${ctx.range.start}-${ctx.range.end}.csv`)
  const jobCsv = () => download(`/api/v1/jobs/${job.job.job_id}/result?format=csv`, `${ctx.site.site_id}-${tab.dimension}-job.csv`)

  if (found.error && found.error.needsJob) {
    return html`<${AdhocJob} spec=${spec} reason=${found.error.description}>${(result) => {
      const rows = resultRows(result)
      return html`<${Rows} tab=${tab} rows=${rows.slice(0, TOP)} ctx=${ctx} metrics=${['visitors']} />
        <${CardFoot} more=${rows.length > TOP} onDetails=${() => setDetails(true)} onCsv=${jobCsv} />
        ${details && html`<${Details} tab=${tab} ctx=${ctx} rows=${rows} metrics=${result.columns.slice(1)} onClose=${() => setDetails(false)} />`}`
    }}<//>`
  }
  if (found.error) return html`<p class="alert error small" role="alert">${found.error.description}</p>`
  if (!found.data) return html`<div class="list-loading" role="status"><span class="spinner" aria-hidden="true"></span><span class="sr-only">Loading</span></div>`
  const { rows, meta } = found.data
  const notes = (meta.incomplete || []).filter(n => n.dimension === tab.dimension || !n.metrics)
  return html`
    ${rows.length
      ? html`<${Rows} tab=${tab} rows=${rows} ctx=${ctx} metrics=${tab.metrics} />`
      : html`<p class="empty">${notes.length ? 'Nothing final to show yet.' : 'No data for this period.'}</p>`}
    ${notes.map(n => html`<p class="note small"><span class="tag">${n.dimension ? 'provisional' : 'incomplete'}</span> ${sentence(n.reason)}</p>`)}
    <${CardFoot} more=${meta.total_rows > rows.length} total=${meta.total_rows} onDetails=${() => setDetails(true)} onCsv=${rows.length ? csv : null} />
    ${details && html`<${Details} tab=${tab} ctx=${ctx} metrics=${tab.details} onClose=${() => setDetails(false)} />`}`
}

function CardFoot ({ more, total, onDetails, onCsv }) {
  return html`<div class="card-foot">
    ${onCsv && html`<button type="button" class="link-btn" onClick=${onCsv}><${IconDownload} /> CSV</button>`}
    ${more && html`<button type="button" class="link-btn" onClick=${onDetails}><${IconExpand} /> Details${total ? ` (${total})` : ''}</button>`}
  </div>`
}

function rowLabel (tab, value) {
  const label = valueLabel(tab.dimension, value)
  return tab.dimension === 'country' && /^[A-Za-z]{2}$/.test(value || '') ? html`<span class="cc" aria-hidden="true">${value.toUpperCase()}</span>${label}` : label
}

function Rows ({ tab, rows, ctx, metrics }) {
  const top = Math.max(1, ...rows.map(r => r.visitors || 0))
  const side = tab.side && metrics.includes(tab.side) ? tab.side : null
  const filtered = ctx.route.filters.some(f => f.dimension === tab.dimension)
  return html`<div class="list" role="table" aria-label=${tab.title}>
    <div class="list-head" role="row">
      <span role="columnheader">${tab.column}</span>
      ${side && html`<span role="columnheader" class="num">${METRICS[side].short}</span>`}
      <span role="columnheader" class="num">${tab.dimension === 'goal' ? 'Uniques' : 'Visitors'}</span>
    </div>
    ${rows.map(r => {
      const value = r[tab.dimension]
      const width = Math.max(0.5, ((r.visitors || 0) / top) * 100)
      return html`<div class="list-row" role="row" data-value=${value ?? ''}>
        <span role="cell" class="row-main">
          <span class="bar" style=${{ width: `${width}%` }}></span>
          ${filtered
            ? html`<span class="row-label">${rowLabel(tab, value)}</span>`
            : html`<button type="button" class="row-label" onClick=${() => addFilter(ctx, tab.dimension, value)} title=${`Filter by ${dimensionLabel(tab.dimension).toLowerCase()} ${valueLabel(tab.dimension, value)}`}>${rowLabel(tab, value)}</button>`}
        </span>
        ${side && html`<span role="cell" class="num muted">${formatMetric(side, r[side])}</span>`}
        <span role="cell" class="num">${formatMetric('visitors', r.visitors)}</span>
      </div>`
    })}
  </div>`
}

const PAGE = 100

/** Every row of a breakdown (pages of 100) with more metrics, in a modal dialog. */
function Details ({ tab, ctx, metrics, rows: given, onClose }) {
  const dialog = useRef(null)
  const [offset, setOffset] = useState(0)
  const [rows, setRows] = useState(given || [])
  const page = useFetch(given ? null : reportUrl('breakdown', { ...tabQuery(ctx, tab, metrics, PAGE), offset }))
  useEffect(() => { dialog.current.showModal() }, [])
  useEffect(() => { if (page.data) setRows(r => offset === 0 ? page.data.rows : [...r, ...page.data.rows]) }, [page.data])
  const next = page.data && page.data.meta.next_offset
  return html`<dialog class="dialog" ref=${dialog} onClose=${onClose} aria-labelledby="details-title">
    <div class="dialog-head">
      <h2 class="h3" id="details-title">${tab.title}</h2>
      <button type="button" class="icon-btn" onClick=${() => dialog.current.close()} aria-label="Close"><${IconX} /></button>
    </div>
    <div class="dialog-body">
      ${page.error && html`<p class="alert error small" role="alert">${page.error.description}</p>`}
      <table class="table">
        <thead><tr><th scope="col">${tab.column}</th>${metrics.map(m => html`<th scope="col" class="num">${(METRICS[m] || { short: m }).short}</th>`)}</tr></thead>
        <tbody>${rows.map(r => html`<tr>
          <td><button type="button" class="row-label plain" onClick=${() => { dialog.current.close(); addFilter(ctx, tab.dimension, r[tab.dimension]) }}>${rowLabel(tab, r[tab.dimension])}</button></td>
          ${metrics.map(m => html`<td class="num">${formatMetric(m, r[m], true)}</td>`)}</tr>`)}</tbody>
      </table>
      ${page.loading && html`<div class="list-loading" role="status"><span class="spinner" aria-hidden="true"></span></div>`}
      ${next && !page.loading && html`<button type="button" class="btn" onClick=${() => setOffset(next)}>Load more</button>`}
    </div>
  </dialog>`
}
