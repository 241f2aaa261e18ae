// A few stroke icons (inline SVG: no icon font, nothing from elsewhere).
import { html } from '../html.js'

const icon = (d, size = 16) => (props = {}) => html`<svg class="icon" width=${size} height=${size} viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false" ...${props}>${d}</svg>`

export const IconSun = icon(html`<circle cx="12" cy="12" r="4"/><path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4"/>`)
export const IconMoon = icon(html`<path d="M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z"/>`)
export const IconX = icon(html`<path d="M18 6 6 18M6 6l12 12"/>`, 14)
export const IconDown = icon(html`<path d="m6 9 6 6 6-6"/>`, 14)
export const IconUp = icon(html`<path d="m18 15-6-6-6 6"/>`, 14)
export const IconArrowUp = icon(html`<path d="M12 19V5M5 12l7-7 7 7"/>`, 12)
export const IconArrowDown = icon(html`<path d="M12 5v14M19 12l-7 7-7-7"/>`, 12)
export const IconDownload = icon(html`<path d="M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4M7 10l5 5 5-5M12 15V3"/>`, 14)
export const IconCalendar = icon(html`<rect x="3" y="4" width="18" height="18" rx="2"/><path d="M16 2v4M8 2v4M3 10h18"/>`)
export const IconCopy = icon(html`<rect x="9" y="9" width="13" height="13" rx="2"/><path d="M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1"/>`, 14)
export const IconExpand = icon(html`<path d="M15 3h6v6M9 21H3v-6M21 3l-7 7M3 21l7-7"/>`, 14)
export const IconBolt = icon(html`<path d="M13 2 3 14h9l-1 8 10-12h-9l1-8z"/>`, 14)
export const IconInfo = icon(html`<circle cx="12" cy="12" r="10"/><path d="M12 16v-4M12 8h.01"/>`, 14)
export const IconFilter = icon(html`<path d="M22 3H2l8 9.46V19l4 2v-8.54L22 3z"/>`, 14)
export const IconUser = icon(html`<circle cx="12" cy="8" r="4"/><path d="M4 21a8 8 0 0 1 16 0"/>`)
export const IconChevronLeft = icon(html`<path d="m15 18-6-6 6-6"/>`)
export const IconChevronRight = icon(html`<path d="m9 18 6-6-6-6"/>`)
export const Logo = () => html`<svg class="logo-mark" width="28" height="28" viewBox="0 0 32 32" aria-hidden="true" focusable="false"><rect width="32" height="32" rx="8" fill="var(--accent)"/><path d="M7 22l6-7 5 4 7-9" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/></svg>`
