// The app: who is looking (a signed-in user, or a shared link), then the page the URL names.
import { useEffect, useState } from 'preact/hooks'
import { html } from '../html.js'
import { get, setCsrfToken, setShareToken } from '../api.js'
import { navigate } from '../route.js'
import { Header } from './header.js'
import { Login, Account } from './login.js'
import { ShareGate } from './share.js'
import { Overview } from './overview.js'
import { Realtime } from './realtime.js'
import { Funnel } from './funnel.js'
import { Settings } from './settings.js'
import { useRoute } from '../route.js'

export const isAdmin = (site) => site && ['admin', 'owner'].includes(site.role)

export function App () {
  const route = useRoute()
  return route.mode === 'share' ? html`<${SharedApp} route=${route} />` : html`<${OwnerApp} route=${route} />`
}

export function Loading ({ label = 'Loading…' }) {
  return html`<div class="page-center" role="status" aria-live="polite"><span class="spinner" aria-hidden="true"></span><span>${label}</span></div>`
}

export function Problem ({ title, children }) {
  return html`<div class="page-center"><div class="panel narrow"><h1 class="h2">${title}</h1>${children}</div></div>`
}

function OwnerApp ({ route }) {
  const [me, setMe] = useState(undefined) // undefined: asking; null: not signed in
  const [error, setError] = useState(null)
  const load = () => get('/api/v1/auth/me').then(
    found => { setCsrfToken(found.csrf_token); setError(null); setMe(found) },
    failed => { if (failed.status === 401) setMe(null); else setError(failed) })
  useEffect(() => { load() }, [])

  const sites = (me && me.sites) || []
  useEffect(() => {
    if (me && !route.site && route.page !== 'account' && sites.length) navigate({ site: sites[0].site_id, page: 'overview' }, { replace: true })
  }, [me, route.site, route.page])

  useEffect(() => {
    const site = sites.find(s => s.site_id === route.site)
    document.title = site ? `${site.domain} · Sitelens` : 'Sitelens'
  }, [me, route.site])

  if (error) return html`<${Problem} title="The dashboard could not load"><p>${error.description}</p><button class="btn" onClick=${load}>Try again</button><//>`
  if (me === undefined) return html`<${Loading} />`
  if (me === null) return html`<${Login} onSignedIn=${load} />`
  const onSignOut = () => { setCsrfToken(null); setMe(null) }
  if (route.page === 'account') {
    return html`<${Header} me=${me} route=${route} onSignOut=${onSignOut} /><main id="main" class="container"><${Account} /></main>`
  }
  if (!sites.length) {
    return html`<${Header} me=${me} route=${route} onSignOut=${onSignOut} />
      <${Problem} title="No sites yet"><p>Your account has no site to show. Ask an admin of a site to add you as a member, or create one with <code>python -m api.manage site create</code>.</p><//>`
  }
  const site = sites.find(s => s.site_id === route.site)
  if (!site) {
    return html`<${Header} me=${me} route=${route} onSignOut=${onSignOut} />
      ${route.site ? html`<${Problem} title="Site not found"><p>You have no access to <strong>${route.site}</strong>, or it does not exist. Pick one of your sites above.</p><//>` : html`<${Loading} />`}`
  }
  return html`<${Header} me=${me} site=${site} sites=${sites} route=${route} onSignOut=${onSignOut} />
    <main id="main" class="container"><${SitePage} route=${route} site=${site} me=${me} /></main>
    <${Footer} />`
}

export function SitePage ({ route, site, me, shared }) {
  switch (route.page) {
    case 'realtime': return html`<${Realtime} site=${site} />`
    case 'funnel': return html`<${Funnel} site=${site} route=${route} />`
    case 'settings':
      return shared ? html`<${Overview} site=${site} route=${route} shared />` : html`<${Settings} site=${site} me=${me} />`
    default: return html`<${Overview} site=${site} route=${route} shared=${shared} />`
  }
}

function SharedApp ({ route }) {
  useEffect(() => { setShareToken(route.secret) }, [route.secret])
  setShareToken(route.secret)
  return html`<${ShareGate} secret=${route.secret}>${(site) => html`
    <${Header} site=${site} route=${route} shared />
    <main id="main" class="container"><${SitePage} route=${route} site=${site} shared /></main>
    <${Footer} shared />`}<//>`
}

function Footer ({ shared }) {
  return html`<footer class="container footer">
    <span>${shared ? 'A shared dashboard · ' : ''}Sitelens: cookieless, self-hosted analytics</span>
    <span>Numbers from the read API: final days from the batch layer, today from the speed layer.</span>
  </footer>`
}
