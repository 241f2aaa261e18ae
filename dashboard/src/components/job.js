// When a question needs the raw events (the API's 400 needs_adhoc_job), run it as a Spark
// job: POST /api/v1/jobs, poll GET /api/v1/jobs/{id}, then fetch the result.
import { useEffect, useState } from 'preact/hooks'
import { html } from '../html.js'
import { get, post } from '../api.js'
import { IconBolt } from './icons.js'
import { sentence } from '../format.js'

const jobs = new Map() // spec -> state, so a re-render (or coming back) keeps the job
const listeners = new Map()

function setJob (key, state) {
  jobs.set(key, state)
  for (const fn of listeners.get(key) || []) fn(state)
}

async function run (key, spec) {
  setJob(key, { phase: 'submitting' })
  try {
    let job = await post('/api/v1/jobs', spec)
    const started = Date.now()
    while (job.status === 'queued' || job.status === 'running') {
      setJob(key, { phase: 'running', job, started })
      await new Promise(resolve => setTimeout(resolve, 2000))
      job = await get(`/api/v1/jobs/${job.job_id}`)
    }
    if (job.status !== 'succeeded') {
      setJob(key, { phase: 'failed', error: job.error || `the job ${job.status}` })
      return
    }
    const result = await get((job.links && job.links.result) || `/api/v1/jobs/${job.job_id}/result`)
    setJob(key, { phase: 'done', job, result })
  } catch (failed) {
    setJob(key, { phase: 'failed', error: failed.description || String(failed), retryAfter: failed.retryAfter })
  }
}

export function useJob (spec) {
  const key = JSON.stringify(spec)
  const [state, setState] = useState(() => jobs.get(key) || { phase: 'idle' })
  useEffect(() => {
    setState(jobs.get(key) || { phase: 'idle' })
    const set = listeners.get(key) || new Set()
    set.add(setState)
    listeners.set(key, set)
    return () => set.delete(setState)
  }, [key])
  return [state, () => run(key, spec)]
}

/** Rows of a job result as objects keyed by its columns. */
export const resultRows = (result) => result.rows.map(r => Object.fromEntries(result.columns.map((c, i) => [c, r[i]])))

/** The card's "needs a Spark job" state; ``children(result)`` shows a finished job. */
export function AdhocJob ({ spec, reason, title = 'This filter needs a Spark job', children }) {
  const [state, start] = useJob(spec)
  const [, tick] = useState(0)
  useEffect(() => {
    if (state.phase !== 'running') return
    const id = setInterval(() => tick(t => t + 1), 1000)
    return () => clearInterval(id)
  }, [state.phase])
  if (state.phase === 'done') {
    return html`<div class="job-done">
      ${children(state.result)}
      <p class="job-foot muted small"><${IconBolt} /> From a Spark job over the raw events of ${spec.start} – ${spec.end}${state.job.finished_at ? `, finished ${new Date(state.job.finished_at).toLocaleTimeString()}` : ''}.</p>
    </div>`
  }
  const busy = state.phase === 'submitting' || state.phase === 'running'
  const seconds = state.started ? Math.round((Date.now() - state.started) / 1000) : 0
  return html`<div class="job" aria-live="polite">
    <p class="job-title"><${IconBolt} /> ${title}</p>
    <p class="muted small">${sentence(reason)}</p>
    ${state.phase === 'failed' && html`<p class="alert error small" role="alert">The job failed: ${state.error}${state.retryAfter ? ` (try again in ${state.retryAfter} s)` : ''}</p>`}
    ${busy
      ? html`<div class="job-progress" role="status">
          <span class="spinner" aria-hidden="true"></span>
          <span>${state.phase === 'submitting' ? 'Submitting…' : `${state.job.status === 'queued' ? 'Queued' : 'Running'} · ${seconds} s${state.job.events_read ? ` · ${state.job.events_read.toLocaleString()} events read` : ''}`}</span>
        </div>`
      : html`<button type="button" class="btn primary" onClick=${start}>${state.phase === 'failed' ? 'Try again' : 'Run Spark job'}</button>`}
  </div>`
}
