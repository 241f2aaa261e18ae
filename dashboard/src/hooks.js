import { useEffect, useRef, useState } from 'preact/hooks'
import { get } from './api.js'

const cache = new Map() // url -> {at, data}: a back/forward or tab switch shows it at once
const FRESH_MS = 60000

/** GET ``url`` (null: nothing to fetch) -> {data, error, loading, settled, reload}.
 *  ``settled``: ``data`` or ``error`` is the answer to this very ``url`` (not the previous
 *  one's, kept while the new one loads). ``refreshMs`` polls it; an answer is kept for a
 *  minute so going back shows it without a spinner. */
export function useFetch (url, { refreshMs = 0 } = {}) {
  const cached = url && cache.get(url)
  const [state, setState] = useState({ data: cached ? cached.data : null, error: null, loading: !!url && !cached, of: cached ? url : null })
  const [tick, setTick] = useState(0)
  const last = useRef(url)

  useEffect(() => {
    if (!url) { setState({ data: null, error: null, loading: false, of: null }); return }
    const hit = cache.get(url)
    const fresh = hit && Date.now() - hit.at < FRESH_MS && tick === 0
    if (last.current !== url) setState({ data: hit ? hit.data : null, error: null, loading: !hit, of: hit ? url : null })
    last.current = url
    if (fresh) { setState({ data: hit.data, error: null, loading: false, of: url }); return }
    const control = new AbortController()
    setState(s => ({ ...s, loading: true }))
    get(url, { signal: control.signal }).then(
      data => { cache.set(url, { at: Date.now(), data }); setState({ data, error: null, loading: false, of: url }) },
      error => { if (error.name !== 'AbortError') setState({ data: null, error, loading: false, of: url }) })
    return () => control.abort()
  }, [url, tick])

  useEffect(() => {
    if (!url || !refreshMs) return
    const id = setInterval(() => { if (!document.hidden) setTick(t => t + 1) }, refreshMs)
    return () => clearInterval(id)
  }, [url, refreshMs])

  const settled = !!url && state.of === url && (state.data !== null || state.error !== null)
  return { ...state, settled, reload: () => setTick(t => t + 1) }
}

export function clearCache () { cache.clear() }

export function useStored (key, initial) {
  const [value, setValue] = useState(() => {
    try { return localStorage.getItem(key) || initial } catch (e) { return initial }
  })
  const store = (next) => {
    setValue(next)
    try { localStorage.setItem(key, next) } catch (e) { /* private mode */ }
  }
  return [value, store]
}

export function useMedia (query) {
  const [matches, setMatches] = useState(() => window.matchMedia(query).matches)
  useEffect(() => {
    const list = window.matchMedia(query)
    const on = () => setMatches(list.matches)
    list.addEventListener('change', on)
    return () => list.removeEventListener('change', on)
  }, [query])
  return matches
}
