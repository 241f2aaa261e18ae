/*
 * sitelens tracker: pageviews, custom events and engagement pings for one site.
 *
 * Sends event 1-0-0 payloads (analytics/schemas/event/1-0-0.json) to the write service.
 * No cookies and no storage unless the site opts in with data-client-id="true".
 * Everything runs inside try/catch: the tracker must never break or block the page.
 * Written for size (the build must stay under 1,000 bytes gzipped): no classes, one event
 * builder, and the minifier turns the names below into single letters.
 */
((w, d) => {
  try {
    var n = navigator,
      l = location,
      h = history,
      s = d.currentScript,
      now = Date.now,
      data = s.dataset,
      flag = (k) => data[k] == 'true',
      site = data.site,
      api = data.api || new URL('/api/event', s.src),
      ns = data.namespace || 'sitelens',
      queue = (w[ns] || 0).q || [],
      hash = flag('hash'),
      referrer = d.referrer,
      page, // url of the current page (of the last pageview)
      since, // start of the current visible stretch; falsy while hidden
      clientId,
      // a random uuid v4; crypto.randomUUID needs a secure context, elsewhere take the
      // browser's own random v4 uuid at the end of a blob: URL
      uuid = () =>
        crypto.randomUUID ? crypto.randomUUID() : URL.createObjectURL(new Blob()).slice(-36),
      // build one event of the current page and send it; extra: the kind's own fields
      send = (kind, extra) => {
        try {
          var event = {
            created_at: now(),
            event_id: uuid(),
            site_id: site,
            kind: kind,
            url: page,
            referrer: referrer,
            title: d.title,
            screen_width: screen.width,
            screen_height: screen.height,
            language: n.language,
            time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
            client_id: clientId,
            ...extra,
            sent_at: now()
          }
          new URL(page).searchParams.forEach(
            (v, k) => /^utm_(source|medium|campaign|term|content)$/.test(k) && (event[k] = v)
          )
          event = JSON.stringify(event)
          ;(n.sendBeacon && n.sendBeacon(api, new Blob([event], { type: 'text/plain' }))) ||
            fetch(api, {
              method: 'POST',
              body: event,
              keepalive: !0,
              headers: { 'Content-Type': 'text/plain' }
            }).catch(() => {})
        } catch (e) {}
      },
      pageview = () => {
        page = l.href
        send('pageview')
      },
      // close the current visible stretch with an engagement ping (never 0 ms, never twice)
      // and start a new one if the page is (still) visible and not being left: pagehide
      // passes its event as `left` (it comes before the page turns hidden)
      leave = (left) => {
        var ms = since && now() - since
        ms > 0 && send('engagement', { engagement_ms: ms > 864e5 ? 864e5 : ms }) // schema: ≤ 1 day
        since = !left && !d.hidden && now()
      },
      path = (u) => (hash ? u : u.split('#')[0]),
      navigate = () => {
        if (path(l.href) != path(page)) {
          leave()
          referrer = page
          pageview()
        }
      },
      off =
        !site ||
        (flag('respectDnt') && (n.doNotTrack == '1' || n.globalPrivacyControl)) ||
        (!flag('trackLocalhost') && /^(localhost|127\..*|\[::1\]|)$/.test(l.hostname))

    // the page's queue (calls made before this script ran) is replayed below; when not
    // tracking, the function stays a no-op so that calls never throw
    w[ns] = (name, options) => {
      off || send('custom', { name: name, props: options && options.props })
    }
    if (off) return
    if (flag('clientId'))
      try {
        clientId = localStorage.sl_id || (localStorage.sl_id = uuid())
      } catch (e) {}
    leave() // starts the first visible stretch (nothing to send yet)
    pageview()
    queue.map((a) => w[ns](...a))
    d.addEventListener('visibilitychange', () => leave())
    addEventListener('pagehide', leave)
    addEventListener('popstate', navigate)
    ;['pushState', 'replaceState'].map((m) => {
      var original = h[m]
      h[m] = (...a) => {
        original.apply(h, a)
        navigate()
      }
    })
  } catch (e) {}
})(window, document)
