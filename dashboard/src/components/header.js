// Top bar: logo, site switcher, the site's pages, theme toggle, the user's menu.
import { useEffect, useRef, useState } from 'preact/hooks'
import { html } from '../html.js'
import { post } from '../api.js'
import { linkProps, navigate } from '../route.js'
import { setTheme, useTheme } from '../theme.js'
import { clearCache } from '../hooks.js'
import { IconMoon, IconSun, IconUser, Logo } from './icons.js'

const isAdmin = (site) => site && ['admin', 'owner'].includes(site.role)

export function Header ({ me, site, sites = [], route, onSignOut, shared }) {
  const pages = [['overview', 'Dashboard'], ['realtime', 'Realtime']]
  if (!shared) pages.push(['funnel', 'Funnels'])
  if (!shared && isAdmin(site)) pages.push(['settings', 'Settings'])
  return html`<header class="topbar">
    <a class="skip-link" href="#main">Skip to content</a>
    <div class="container topbar-row">
      <a class="brand" ...${linkProps({ page: 'overview' })} aria-label="Sitelens dashboard"><${Logo} /><span class="brand-name">Sitelens</span></a>
      ${site && (shared || sites.length < 2
        ? html`<span class="site-name" title=${site.site_id}>${site.domain}</span>`
        : html`<label class="site-switch"><span class="sr-only">Site</span>
            <select value=${site.site_id} onChange=${e => navigate({ site: e.currentTarget.value, filters: [] })}>
              ${sites.map(s => html`<option value=${s.site_id}>${s.domain}</option>`)}
            </select></label>`)}
      <span class="grow"></span>
      <${ThemeToggle} />
      ${me && html`<${UserMenu} me=${me} onSignOut=${onSignOut} />`}
    </div>
    ${site && html`<nav class="container tabs-nav" aria-label="Pages">
      ${pages.map(([id, label]) => html`<a class=${'nav-link' + (route.page === id ? ' active' : '')} aria-current=${route.page === id ? 'page' : undefined} ...${linkProps({ page: id })}>${label}</a>`)}
    </nav>`}
  </header>`
}

function ThemeToggle () {
  const theme = useTheme()
  const next = theme === 'dark' ? 'light' : 'dark'
  return html`<button class="icon-btn" type="button" onClick=${() => setTheme(next)} aria-label=${`Switch to ${next} theme`} title=${`Switch to ${next} theme`}>
    ${theme === 'dark' ? html`<${IconSun} />` : html`<${IconMoon} />`}
  </button>`
}

function UserMenu ({ me, onSignOut }) {
  const [open, setOpen] = useState(false)
  const box = useRef(null)
  useEffect(() => {
    if (!open) return
    const close = (e) => { if (e.type === 'keydown' ? e.key === 'Escape' : !box.current.contains(e.target)) setOpen(false) }
    document.addEventListener('mousedown', close)
    document.addEventListener('keydown', close)
    return () => { document.removeEventListener('mousedown', close); document.removeEventListener('keydown', close) }
  }, [open])
  const signOut = async () => {
    try { await post('/api/v1/auth/logout') } catch (e) { /* signed out anyway */ }
    clearCache()
    onSignOut()
  }
  return html`<div class="menu" ref=${box}>
    <button class="icon-btn" type="button" aria-haspopup="true" aria-expanded=${open} onClick=${() => setOpen(!open)} aria-label="Account menu" title=${me.user.email}><${IconUser} /></button>
    ${open && html`<div class="menu-panel" role="group" aria-label="Account">
      <div class="menu-head">Signed in as<br /><strong>${me.user.email}</strong></div>
      <a class="menu-item" ...${linkProps({ page: 'account' })} onClick=${(e) => { setOpen(false); linkProps({ page: 'account' }).onClick(e) }}>Change password</a>
      <button class="menu-item" type="button" onClick=${signOut}>Sign out</button>
    </div>`}
  </div>`
}
