// Admin pages of a site: general settings, members, shared links, the tracker snippet and
// the Tableau links. The API decides who may (a viewer forcing the URL gets its 403).
import { useEffect, useState } from 'preact/hooks'
import { html } from '../html.js'
import { del, patch, post } from '../api.js'
import { useFetch } from '../hooks.js'
import { IconCopy, IconX } from './icons.js'
import { sentence } from '../format.js'

export function Settings ({ site, me }) {
  const base = `/api/v1/sites/${encodeURIComponent(site.site_id)}`
  const settings = useFetch(`${base}/settings`)
  const members = useFetch(`${base}/members`)
  const refused = [settings.error, members.error].find(e => e && e.status === 403)
  const failed = refused || settings.error
  if (failed) {
    return html`<div class="page-center"><div class="panel narrow"><h1 class="h2">${failed.status === 403 ? 'Only admins can change settings' : 'Settings could not load'}</h1>
      <p>${sentence(failed.description)}</p></div></div>`
  }
  return html`<div class="settings">
    <h1 class="h2">Settings of ${site.domain}</h1>
    ${settings.data ? html`<${General} base=${base} initial=${settings.data} reload=${settings.reload} />` : html`<div class="panel"><span class="spinner" aria-hidden="true"></span></div>`}
    <${Members} base=${base} me=${me} list=${members} />
    <${SharedLinks} base=${base} />
    <${Snippet} site=${site} me=${me} />
    <${Tableau} site=${site} />
  </div>`
}

function Section ({ title, description, children, id }) {
  return html`<section class="panel settings-section" aria-labelledby=${id}>
    <h2 class="h3" id=${id}>${title}</h2>${description && html`<p class="muted small">${description}</p>`}${children}</section>`
}

function Status ({ status }) {
  if (!status) return null
  if (status.error) return html`<p class="alert error small" role="alert">${status.error}</p>`
  if (status.ok) return html`<p class="alert ok small" role="status">${status.ok}</p>`
  return null
}

let zones = null
const timeZones = () => {
  if (!zones) { try { zones = Intl.supportedValuesOf('timeZone') } catch (e) { zones = [] } }
  return zones
}

function General ({ base, initial, reload }) {
  const [timezone, setTimezone] = useState(initial.timezone || 'UTC')
  const [goals, setGoals] = useState(initial.goals || [])
  const [domain, setDomain] = useState(initial.domain || '')
  const [origins, setOrigins] = useState((initial.allowed_origins || []).join('\n'))
  const [retention, setRetention] = useState(initial.retention_days ? String(initial.retention_days) : '')
  const [goal, setGoal] = useState('')
  const [status, setStatus] = useState(null)
  const options = timeZones().includes(timezone) ? timeZones() : [timezone, ...timeZones()]
  const addGoal = () => {
    const g = goal.trim()
    if (g && !goals.includes(g)) setGoals([...goals, g])
    setGoal('')
  }
  const save = async (e) => {
    e.preventDefault()
    const wanted = {
      domain: domain.trim(), timezone, goals,
      allowed_origins: origins.split(/[\s,]+/).filter(Boolean),
      retention_days: retention ? parseInt(retention, 10) : null
    }
    const changes = Object.fromEntries(Object.entries(wanted).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(initial[k] === undefined ? null : initial[k])))
    if (!Object.keys(changes).length) { setStatus({ ok: 'Nothing to save.' }); return }
    setStatus({ busy: true })
    try {
      await patch(`${base}/settings`, changes)
      setStatus({ ok: 'Saved. Reload the dashboard to see a new time zone or goals.' })
      reload()
    } catch (failed) { setStatus({ error: sentence(failed.description) }) }
  }
  return html`<${Section} title="General" id="s-general">
    <form class="stack" onSubmit=${save}>
      <div class="field"><label for="set-1">Domain</label>
        <input id="set-1" aria-describedby="set-1-help" value=${domain} required onInput=${e => setDomain(e.currentTarget.value)} />
        <small class="muted" id="set-1-help">The site's host name, like example.com.</small></div>
      <div class="field"><label for="set-2">Time zone</label>
        <select id="set-2" aria-describedby="set-2-help" value=${timezone} onChange=${e => setTimezone(e.currentTarget.value)}>${options.map(z => html`<option value=${z}>${z}</option>`)}</select>
        <small class="muted" id="set-2-help">Days and hours of every report are in this zone.</small></div>
      <fieldset class="field"><legend>Goals</legend>
        <ul class="goal-list">${goals.map(g => html`<li class="chip"><span>${g}</span><button type="button" class="chip-x" onClick=${() => setGoals(goals.filter(x => x !== g))} aria-label=${`Remove goal ${g}`}><${IconX} /></button></li>`)}</ul>
        <div class="inline-form">
          <label class="sr-only" for="new-goal">New goal</label>
          <input id="new-goal" value=${goal} placeholder="signup or /thank-you" onInput=${e => setGoal(e.currentTarget.value)} onKeyDown=${e => { if (e.key === 'Enter') { e.preventDefault(); addGoal() } }} />
          <button type="button" class="btn" onClick=${addGoal}>Add goal</button>
        </div>
        <small class="muted">A custom event name, or a page path (starting with /).</small>
      </fieldset>
      <div class="field"><label for="set-3">Other allowed origins</label>
        <textarea id="set-3" aria-describedby="set-3-help" rows="3" value=${origins} placeholder="https://www.example.com" onInput=${e => setOrigins(e.currentTarget.value)}></textarea>
        <small class="muted" id="set-3-help">One per line: more origins whose pages may send events (the domain's own always may).</small></div>
      <div class="field"><label for="set-4">Keep raw events for (days)</label>
        <input id="set-4" aria-describedby="set-4-help" type="number" min="1" inputMode="numeric" value=${retention} placeholder="forever" onInput=${e => setRetention(e.currentTarget.value)} />
        <small class="muted" id="set-4-help">Empty keeps them forever. Older raw events are deleted nightly; daily reports stay.</small></div>
      <${Status} status=${status} />
      <div><button class="btn primary" type="submit" disabled=${status && status.busy}>Save</button></div>
    </form>
  <//>`
}

function Members ({ base, me, list }) {
  const [email, setEmail] = useState('')
  const [role, setRole] = useState('viewer')
  const [status, setStatus] = useState(null)
  const add = async (e) => {
    e.preventDefault()
    try {
      await post(`${base}/members`, { email, role })
      setEmail('')
      setStatus({ ok: `${email} was added.` })
      list.reload()
    } catch (failed) { setStatus({ error: sentence(failed.description) }) }
  }
  const remove = async (who) => {
    if (!window.confirm(`Remove ${who} from this site?`)) return
    try { await del(`${base}/members/${encodeURIComponent(who)}`); list.reload() } catch (failed) { setStatus({ error: sentence(failed.description) }) }
  }
  const members = list.data ? (list.data.members || list.data) : []
  return html`<${Section} title="Members" id="s-members" description="Viewers see the dashboard; admins also change settings, members and shared links.">
    ${list.error && html`<p class="alert error small">${list.error.description}</p>`}
    <ul class="item-list">${members.map(m => html`<li>
      <span class="grow">${m.email}${me && m.email === me.user.email ? html` <span class="muted">(you)</span>` : ''}</span>
      <span class="tag">${m.role}</span>
      ${!(me && m.email === me.user.email) && html`<button type="button" class="link-btn danger" onClick=${() => remove(m.email)}>Remove</button>`}
    </li>`)}</ul>
    <form class="inline-form" onSubmit=${add}>
      <label class="sr-only" for="member-email">Email</label>
      <input id="member-email" type="email" required placeholder="teammate@example.com" value=${email} onInput=${e => setEmail(e.currentTarget.value)} />
      <label class="sr-only" for="member-role">Role</label>
      <select id="member-role" value=${role} onChange=${e => setRole(e.currentTarget.value)}><option value="viewer">Viewer</option><option value="admin">Admin</option></select>
      <button class="btn" type="submit">Add member</button>
    </form>
    <${Status} status=${status} />
  <//>`
}

function absolute (url) {
  return new URL(url, window.location.origin).href
}

function CopyButton ({ text, label = 'Copy' }) {
  const [done, setDone] = useState(false)
  useEffect(() => { if (done) { const id = setTimeout(() => setDone(false), 1500); return () => clearTimeout(id) } }, [done])
  const copy = async () => {
    try { await navigator.clipboard.writeText(text); setDone(true) } catch (e) { window.prompt('Copy this:', text) }
  }
  return html`<button type="button" class="btn small" onClick=${copy}><${IconCopy} /> ${done ? 'Copied' : label}</button>`
}

function SharedLinks ({ base }) {
  const list = useFetch(`${base}/shared-links`)
  const [label, setLabel] = useState('')
  const [password, setPassword] = useState('')
  const [status, setStatus] = useState(null)
  const [made, setMade] = useState(null)
  const create = async (e) => {
    e.preventDefault()
    try {
      const link = await post(`${base}/shared-links`, password ? { label, password } : { label })
      setLabel(''); setPassword('')
      setMade(link)
      setStatus(null)
      list.reload()
    } catch (failed) { setStatus({ error: sentence(failed.description) }) }
  }
  const revoke = async (link) => {
    if (!window.confirm(`Revoke "${link.label}"? Anyone using it loses access.`)) return
    try {
      await del(`${base}/shared-links/${encodeURIComponent(link.link_id)}`)
      if (made && made.link_id === link.link_id) setMade(null)
      list.reload()
    } catch (failed) { setStatus({ error: sentence(failed.description) }) }
  }
  const all = list.data ? (list.data.links || list.data.shared_links || []) : []
  const links = all.filter(l => !l.revoked_at)
  return html`<${Section} title="Shared links" id="s-links" description="A read-only dashboard for anyone with the link; it can be embedded in an iframe. Revoke it to stop access.">
    ${list.error && html`<p class="alert error small">${sentence(list.error.description)}</p>`}
    ${made && made.url && html`<div class="alert ok made-link" role="status">
      <p><strong>Link "${made.label}" created.</strong> Copy it now: for its safety it is not shown again.</p>
      <code class="url">${absolute(made.url)}</code>
      <div><${CopyButton} text=${absolute(made.url)} label="Copy link" /></div>
    </div>`}
    ${links.length > 0 && html`<ul class="item-list">${links.map(l => html`<li class="wrap">
      <span class="grow"><strong>${l.label}</strong>${l.password_protected && html` <span class="tag">password</span>`}
        ${l.created_at && html`<br /><span class="muted small">created ${new Date(l.created_at).toLocaleDateString()}</span>`}</span>
      ${l.url && html`<${CopyButton} text=${absolute(l.url)} label="Copy link" />`}
      <button type="button" class="link-btn danger" onClick=${() => revoke(l)} aria-label=${`Revoke link ${l.label}`}>Revoke</button>
    </li>`)}</ul>`}
    <form class="inline-form" onSubmit=${create}>
      <label class="sr-only" for="link-label">Label</label>
      <input id="link-label" required maxLength="100" placeholder="Label, e.g. Investors" value=${label} onInput=${e => setLabel(e.currentTarget.value)} />
      <label class="sr-only" for="link-password">Password (optional)</label>
      <input id="link-password" type="password" autocomplete="new-password" placeholder="Password (optional)" value=${password} onInput=${e => setPassword(e.currentTarget.value)} />
      <button class="btn" type="submit">Create link</button>
    </form>
    <${Status} status=${status} />
  <//>`
}

function Snippet ({ site, me }) {
  const known = me && (me.tracker_script_url || me.write_api_url)
  const src = me && me.tracker_script_url ? me.tracker_script_url
    : known ? `${known.replace(/\/$/, '')}/js/sl.js` : 'https://WRITE-API-HOST/js/sl.js'
  const code = `<script defer data-site="${site.site_id}" src="${src}"></script>`
  return html`<${Section} title="Tracker snippet" id="s-snippet" description="Paste it into the <head> of every page of the site.">
    <pre class="code"><code>${code}</code></pre>
    ${!known && html`<p class="muted small">Replace <code>WRITE-API-HOST</code> with your write API's public address (<code>make run</code> prints it; locally <code>http://127.0.0.1:8000</code>).</p>`}
    <div><${CopyButton} text=${code} label="Copy snippet" /></div>
  <//>`
}

function Tableau ({ site }) {
  const id = encodeURIComponent(site.site_id)
  return html`<${Section} title="Tableau and exports" id="s-tableau">
    <ul class="link-list">
      <li><a href="/tableau">Tableau Web Data Connector</a> <span class="muted small">· paste ${absolute('/tableau')} into Tableau Desktop</span></li>
      <li><a href=${`/api/v1/extract.hyper?site_id=${id}`}>Download a Tableau extract (.hyper)</a> <span class="muted small">· the last 30 days up to yesterday</span></li>
    </ul>
  <//>`
}


