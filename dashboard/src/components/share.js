// A shared link: its site, or "no longer available" (404), or its password form.
import { useEffect, useState } from 'preact/hooks'
import { html } from '../html.js'
import { get, post } from '../api.js'
import { Logo } from './icons.js'

export function ShareGate ({ secret, children }) {
  const [info, setInfo] = useState(undefined)
  const [error, setError] = useState(null)
  const load = () => get(`/api/v1/share/${encodeURIComponent(secret)}`).then(
    found => { setError(null); setInfo(found) },
    failed => { setError(failed); setInfo(null) })
  useEffect(() => { load() }, [secret])
  useEffect(() => { if (info && info.site) document.title = `${info.site.domain} · Sitelens` }, [info])

  if (info === undefined) return html`<div class="page-center" role="status"><span class="spinner" aria-hidden="true"></span>Loading…</div>`
  if (error && (error.status === 404 || error.status === 410)) {
    return html`<main id="main" class="page-center"><div class="panel narrow"><div class="login-brand"><${Logo} /><span>Sitelens</span></div>
      <h1 class="h2">This link is no longer available</h1>
      <p class="muted">The shared dashboard was revoked or never existed. Ask the site's owner for a new link.</p></div></main>`
  }
  if (error) {
    return html`<main id="main" class="page-center"><div class="panel narrow"><h1 class="h2">The shared dashboard could not load</h1>
      <p>${error.description}</p><button class="btn" onClick=${load}>Try again</button></div></main>`
  }
  if (info.password_required && !info.unlocked) return html`<${Unlock} secret=${secret} site=${info.site} onUnlocked=${load} />`
  return children(info.site)
}

function Unlock ({ secret, site, onUnlocked }) {
  const [password, setPassword] = useState('')
  const [error, setError] = useState(null)
  const [busy, setBusy] = useState(false)
  const submit = async (event) => {
    event.preventDefault()
    setBusy(true)
    try {
      await post(`/api/v1/share/${encodeURIComponent(secret)}/unlock`, { password })
      onUnlocked()
    } catch (failed) {
      setError(failed.status === 401 || failed.status === 403 ? 'Wrong password.' : failed.status === 429
        ? `Too many attempts. Try again in ${failed.retryAfter || 60} s.` : failed.description)
      setBusy(false)
    }
  }
  return html`<main id="main" class="login-page">
    <form class="panel login" onSubmit=${submit}>
      <div class="login-brand"><${Logo} /><span>Sitelens</span></div>
      <h1 class="h2">${site && site.domain ? `Stats of ${site.domain}` : 'A shared dashboard'}</h1>
      <p class="muted">This shared link is protected with a password.</p>
      ${error && html`<p class="alert error" role="alert">${error}</p>`}
      <label class="field"><span>Password</span><input type="password" autocomplete="current-password" required value=${password} onInput=${e => setPassword(e.currentTarget.value)} /></label>
      <button class="btn primary wide" type="submit" disabled=${busy}>${busy ? 'Checking…' : 'View dashboard'}</button>
    </form></main>`
}
