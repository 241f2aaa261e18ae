// Light or dark: the system's choice unless the user picked one (kept in localStorage,
// applied before first paint by theme-boot.js).
import { useEffect, useState } from 'preact/hooks'

const dark = window.matchMedia('(prefers-color-scheme: dark)')
const listeners = new Set()

export function currentTheme () {
  const picked = document.documentElement.dataset.theme
  return picked || (dark.matches ? 'dark' : 'light')
}

export function setTheme (theme) {
  document.documentElement.dataset.theme = theme
  try { localStorage.setItem('sitelens-theme', theme) } catch (e) { /* private mode */ }
  listeners.forEach(fn => fn(theme))
}

dark.addEventListener('change', () => listeners.forEach(fn => fn(currentTheme())))

export function useTheme () {
  const [theme, set] = useState(currentTheme)
  useEffect(() => {
    const on = () => set(currentTheme())
    listeners.add(on)
    return () => listeners.delete(on)
  }, [])
  return theme
}

/** A CSS custom property's value (for the charts' colours). */
export const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim()
