// Sign in (with the API's reason on a wrong password, and the wait when throttled) and
// the signed-in user's password change.
import { useEffect, useState } from 'preact/hooks'
import { html } from '../html.js'
import { post, setCsrfToken } from '../api.js'
import { Logo } from './icons.js'

export function Login ({ onSignedIn }) {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState(null)
  const [busy, setBusy] = useState(false)
  const [waitUntil, setWaitUntil] = useState(0)
  const [, tick] = useState(0)
  const wait = Math.max(0, Math.ceil((waitUntil - Date.now()) / 1000))
  useEffect(() => {
    if (!waitUntil) return
    const id = setInterval(() => { tick(t => t + 1); if (Date.now() >= waitUntil) { setWaitUntil(0); setError(null) } }, 1000)
    return () => clearInterval(id)
  }, [waitUntil])

  const submit = async (event) => {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const found = await post('/api/v1/auth/login', { email, password })
      setCsrfToken(found.csrf_token)
      onSignedIn()
    } catch (failed) {
      if (failed.status === 429) setWaitUntil(Date.now() + (failed.retryAfter || 60) * 1000)
      setError(failed)
      setBusy(false)
    }
  }
  let message = null
  if (error && error.status === 429) {
    message = `Too many sign-in attempts. Try again in ${formatWait(wait)}.`
  } else if (error && error.status === 401) {
    message = 'Wrong email or password.'
  } else if (error) {
    message = error.description
  }
  return html`<main id="main" class="login-page">
    <form class="panel login" onSubmit=${submit} aria-describedby=${message ? 'login-error' : undefined}>
      <div class="login-brand"><${Logo} /><span>Sitelens</span></div>
      <h1 class="h2">Sign in to your dashboard</h1>
      ${message && html`<p id="login-error" class="alert error" role="alert">${message}</p>`}
      <label class="field"><span>Email</span>
        <input type="email" name="email" autocomplete="username" required value=${email} onInput=${e => setEmail(e.currentTarget.value)} /></label>
      <label class="field"><span>Password</span>
        <input type="password" name="password" autocomplete="current-password" required value=${password} onInput=${e => setPassword(e.currentTarget.value)} /></label>
      <button class="btn primary wide" type="submit" disabled=${busy || wait > 0}>${busy ? 'Signing in…' : wait > 0 ? `Wait ${formatWait(wait)}` : 'Sign in'}</button>
    </form>
  </main>`
}

function formatWait (seconds) {
  if (seconds < 60) return `${seconds} s`
  const m = Math.floor(seconds / 60)
  return `${m} min ${String(seconds % 60).padStart(2, '0')} s`
}

export function Account () {
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const [again, setAgain] = useState('')
  const [status, setStatus] = useState(null)
  const submit = async (event) => {
    event.preventDefault()
    if (next !== again) { setStatus({ error: 'The new passwords do not match.' }); return }
    setStatus({ busy: true })
    try {
      await post('/api/v1/auth/password', { current_password: current, new_password: next })
      setCurrent(''); setNext(''); setAgain('')
      setStatus({ ok: 'Your password was changed.' })
    } catch (failed) {
      setStatus({ error: failed.title === 'invalid_credentials' ? 'The current password is wrong.' : failed.status === 429 ? `Too many attempts. Try again in ${formatWait(failed.retryAfter || 60)}.` : failed.description })
    }
  }
  return html`<section class="panel narrow settings-section">
    <h1 class="h2">Change password</h1>
    <form onSubmit=${submit} class="stack">
      ${status && status.error && html`<p class="alert error" role="alert">${status.error}</p>`}
      ${status && status.ok && html`<p class="alert ok" role="status">${status.ok}</p>`}
      <label class="field"><span>Current password</span><input type="password" autocomplete="current-password" required value=${current} onInput=${e => setCurrent(e.currentTarget.value)} /></label>
      <label class="field"><span>New password</span><input type="password" autocomplete="new-password" required minLength="10" value=${next} onInput=${e => setNext(e.currentTarget.value)} /></label>
      <label class="field"><span>New password again</span><input type="password" autocomplete="new-password" required minLength="10" value=${again} onInput=${e => setAgain(e.currentTarget.value)} /></label>
      <div><button class="btn primary" type="submit" disabled=${status && status.busy}>Change password</button></div>
    </form>
  </section>`
}
