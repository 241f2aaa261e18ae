// uPlot in Preact: made when its options or data change, resized with its box, remade
// when the theme changes (its colours come from CSS variables).
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import { html } from '../html.js'
import { useTheme } from '../theme.js'

export { uPlot }

/** ``make(width, theme)`` -> uPlot options; ``data``: uPlot's arrays. */
export function Plot ({ make, data, height = 260, deps = [] }) {
  const box = useRef(null)
  const theme = useTheme()
  useEffect(() => {
    const el = box.current
    const width = Math.max(200, el.clientWidth)
    const plot = new uPlot({ ...make(width, theme), width, height }, data, el)
    const observer = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth)
      if (Math.abs(w - plot.width) > 1) plot.setSize({ width: w, height })
    })
    observer.observe(el)
    return () => { observer.disconnect(); plot.destroy() }
  }, [theme, height, data, ...deps])
  return html`<div class="plot" ref=${box} aria-hidden="true"></div>`
}

/** x-axis ticks on whole indexes, about one per ``space`` pixels at most, every ``step``
 *  of ``steps`` (the smallest that fits) where ``at(i, step)`` holds (for example whole
 *  five minutes). */
export function indexSplits (count, space = 80, steps = [1, 2, 5, 10, 15, 30], at = (i, step) => i % step === 0) {
  return (u) => {
    const fit = Math.max(2, Math.floor(u.bbox.width / devicePixelRatio / space))
    const step = steps.find(k => count / k <= fit) || steps[steps.length - 1]
    const out = []
    for (let i = 0; i < count; i++) if (at(i, step)) out.push(i)
    return out
  }
}

/** A tooltip that follows uPlot's cursor; ``fill(el, idx)`` writes its content. */
export function tooltipPlugin (fill) {
  let tip
  return {
    hooks: {
      init: (u) => {
        tip = document.createElement('div')
        tip.className = 'chart-tip'
        tip.hidden = true
        u.over.appendChild(tip)
        u.over.addEventListener('mouseleave', () => { tip.hidden = true })
      },
      setCursor: (u) => {
        const idx = u.cursor.idx
        if (idx === null || idx === undefined || u.cursor.left < 0) { tip.hidden = true; return }
        tip.replaceChildren()
        fill(tip, idx)
        tip.hidden = false
        const x = u.valToPos(idx, 'x')
        const w = tip.offsetWidth
        const left = x + 12 + w > u.over.clientWidth ? x - 12 - w : x + 12
        tip.style.left = `${Math.max(0, left)}px`
        tip.style.top = `${Math.max(0, Math.min(u.cursor.top - 20, u.over.clientHeight - tip.offsetHeight))}px`
      }
    }
  }
}

/** A line of a tooltip: a swatch, a label, a value. */
export function tipLine (el, { swatch, dashed, label, value, className }) {
  const line = document.createElement('div')
  line.className = 'tip-line' + (className ? ` ${className}` : '')
  if (swatch) {
    const s = document.createElement('span')
    s.className = 'tip-swatch' + (dashed ? ' dashed' : '')
    s.style.borderColor = swatch
    line.appendChild(s)
  }
  const l = document.createElement('span')
  l.className = 'tip-label'
  l.textContent = label
  line.appendChild(l)
  if (value !== undefined) {
    const v = document.createElement('strong')
    v.textContent = value
    line.appendChild(v)
  }
  el.appendChild(line)
}
