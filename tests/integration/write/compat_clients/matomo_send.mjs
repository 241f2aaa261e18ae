// Sends requests with the published matomo-tracker client, as a site's server would, and
// prints what it saw: {bulk: <the bulk's answer>, errors: [...]} as JSON on one line.
//   node matomo_send.mjs <trackerUrl> <idsite> <run>
// trackerUrl is the write service's matomo_path (it must end in matomo.php or piwik.php).
import MatomoTracker from 'matomo-tracker'

const [trackerUrl, idsite, run] = process.argv.slice(2)
const matomo = new MatomoTracker(Number(idsite), trackerUrl)
const errors = []
matomo.on('error', (error) => errors.push(String(error)))
const page = `https://matomo.test/matomo/${run}`
// a server tracking for its visitors passes each visitor's user agent as `ua`
const ua = 'Mozilla/5.0 (X11; Linux x86_64; rv:144.0) Gecko/20100101 Firefox/144.0'

// track() answers nothing: a status other than 200/204/30x is emitted as an error
matomo.track({ url: `${page}?utm_source=server`, action_name: 'From Matomo',
               urlref: 'https://referrer.example/', res: '1280x720', ua })
matomo.track({ url: page, e_c: 'Videos', e_a: 'Play', e_n: run, e_v: 3 })
const answer = await new Promise((resolve) => matomo.trackBulk([
  { url: `${page}/bulk`, action_name: 'Bulk page', ua },
  { url: `${page}/bulk`, e_c: 'Buy', e_a: 'rightButton', e_v: '2',
    cdt: new Date(Date.now() - 60000).toISOString() },
], resolve))
await new Promise((resolve) => setTimeout(resolve, 500))  // the track() calls end
console.log(JSON.stringify({ bulk: JSON.parse(answer), errors }))
