// Sends events with the published @umami/node client, as a site's server would, and
// prints what each call answered: [{status, body}] as JSON on one line.
//   node umami_send.mjs <hostUrl> <websiteId> <run>
// hostUrl is the write service's umami_path without the /api/send the client appends.
import { Umami } from '@umami/node'

const [hostUrl, websiteId, run] = process.argv.slice(2)
const umami = new Umami()
umami.init({ hostUrl, websiteId })

const answers = []
for (const call of [
  () => umami.track({ url: `/node/${run}?utm_source=server`, hostname: 'compat.test',
                      title: 'From Node', referrer: 'https://referrer.example/' }),
  () => umami.track('signup', { plan: 'pro', seats: 3, run }),
]) {
  const response = await call()
  answers.push({ status: response.status, body: await response.json() })
}
console.log(JSON.stringify(answers))
