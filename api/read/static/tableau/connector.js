/* Sitelens web data connector for Tableau (WDC 2.x).
 *
 * The tables and their columns come from the read API (GET /api/v1/export/tables), the rows
 * from GET /api/v1/export/{table}. Day tables hold complete days only, so an incremental
 * refresh asks for the days after the last one Tableau has: no day is appended twice and
 * none half-counted. The token lives in tableau.password, which Tableau never writes to
 * disk; a workbook opened later re-asks for it (auth type "custom": this page, token only).
 *
 * Plain ES2017 and fetch: Tableau 2019.4 and later run connectors in Chromium.
 */
(function () {
  "use strict";

  var ROWS_PER_APPEND = 5000;
  var DAYS_PER_REQUEST = 366;
  var connector = tableau.makeConnector();

  connector.init = function (initCallback) {
    tableau.authType = tableau.authTypeEnum.custom;
    if (tableau.phase !== tableau.phaseEnum.gatherDataPhase) {
      showForm(tableau.phase === tableau.phaseEnum.authPhase);
    }
    initCallback();
  };

  connector.getSchema = function (schemaCallback) {
    api(settings(), "/api/v1/export/tables").then(function (body) {
      schemaCallback(body.tables.map(tableInfo));
    }).catch(abort);
  };

  connector.getData = function (table, doneCallback) {
    var current = settings();
    var path = "/api/v1/export/" + encodeURIComponent(table.tableInfo.id);
    if (!table.tableInfo.incrementColumnId) {  // not a day table (realtime): always whole
      api(current, path, {site_id: current.siteId}).then(function (body) {
        append(table, body.rows);
        doneCallback();
      }).catch(abort);
      return;
    }
    var start = current.start;
    // Day tables hold complete days only, so asking up to the browser's tomorrow is safe
    // and reaches the latest complete day of a site in any time zone.
    var end = current.rolling ? addDays(localToday(), 1) : current.end;
    if (table.incrementValue) {
      start = later(start, addDays(dayOf(table.incrementValue), 1));
    }
    var appended = 0;
    function fetchFrom(first) {  // a year per request: the API answers three at most
      var last = earlier(addDays(first, DAYS_PER_REQUEST - 1), end);
      return api(current, path, {site_id: current.siteId, start: first, end: last})
        .then(function (body) {
          append(table, body.rows);
          appended += body.rows.length;
          tableau.reportProgress(table.tableInfo.alias + ": " + appended + " rows to " + last);
          // a day of this window is not complete yet: later windows must wait for it, or
          // the next incremental refresh would start after it and never fetch it
          var gap = body.closed_through && body.closed_through < last;
          return last < end && !gap ? fetchFrom(addDays(last, 1)) : null;
        });
    }
    // start after end: no day has been completed since the last refresh
    (start <= end ? fetchFrom(start) : Promise.resolve()).then(function () {
      doneCallback();
    }).catch(abort);
  };

  function append(table, rows) {
    for (var i = 0; i < rows.length; i += ROWS_PER_APPEND) {
      table.appendRows(rows.slice(i, i + ROWS_PER_APPEND));
    }
  }

  tableau.registerConnector(connector);

  // -- the read API ------------------------------------------------------------------------

  function settings() {
    var saved = JSON.parse(tableau.connectionData || "{}");
    saved.token = tableau.password;
    return saved;
  }

  function api(current, path, params) {
    var url = new URL(current.serviceUrl.replace(/\/+$/, "") + path);
    Object.keys(params || {}).forEach(function (name) {
      url.searchParams.set(name, params[name]);
    });
    var request = {headers: {Authorization: "Bearer " + current.token,
                             Accept: "application/json"}};
    return fetch(url.toString(), request).catch(function (error) {
      throw new Error("Cannot reach Sitelens at " + url.origin + " (" + error.message + ")");
    }).then(function (response) {
      return response.text().then(function (text) {
        var body = null;
        try { body = JSON.parse(text); } catch (ignored) { /* an error page, not JSON */ }
        if (!response.ok) {
          var reason = body && (body.description || body.title);
          throw new Error("Sitelens answered " + response.status + ": " +
                          (reason || response.statusText || "no reason given"));
        }
        if (body === null) { throw new Error("Sitelens answered with something not JSON"); }
        return body;
      });
    });
  }

  function tableInfo(table) {
    var info = {
      id: table.id, alias: table.alias, description: table.description,
      columns: table.columns.map(function (column) {
        var type = tableau.dataTypeEnum[column.type];
        if (!type) { throw new Error("Unknown column type " + column.type + " of " + column.id); }
        return {id: column.id, alias: column.id, description: column.description, dataType: type};
      })
    };
    if (table.incremental_column) { info.incrementColumnId = table.incremental_column; }
    return info;
  }

  function abort(error) {
    tableau.abortWithError(error.message || String(error));
  }

  // -- days as "YYYY-MM-DD" strings, which sort like the days -----------------------------

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function localToday() {
    var now = new Date();
    return now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate());
  }

  function addDays(day, n) {
    var date = new Date(day + "T00:00:00Z");
    date.setUTCDate(date.getUTCDate() + n);
    return date.toISOString().slice(0, 10);
  }

  function later(a, b) { return a > b ? a : b; }

  function earlier(a, b) { return a < b ? a : b; }

  function dayOf(value) {
    // Tableau hands the increment value back as text; accept its other date spellings too
    var iso = /^\d{4}-\d{2}-\d{2}/.exec(String(value));
    if (iso) { return iso[0]; }
    var parsed = new Date(value);
    if (isNaN(parsed.getTime())) { throw new Error("Unexpected increment value " + value); }
    return parsed.getFullYear() + "-" + pad(parsed.getMonth() + 1) + "-" + pad(parsed.getDate());
  }

  // -- the form (interactive phase; the auth phase shows the token only) -----------------

  function $(id) { return document.getElementById(id); }

  function say(message, isError) {
    $("status").textContent = message;
    $("status").className = isError ? "error" : "";
  }

  function showForm(authOnly) {
    var saved = settings();
    $("service-url").value = saved.serviceUrl || window.location.origin;
    $("token").value = tableau.password || "";
    var yesterday = addDays(localToday(), -1);
    $("start").value = saved.start || addDays(yesterday, -29);
    $("end").value = saved.rolling === false ? saved.end : yesterday;
    $("rolling").checked = saved.rolling !== false;
    $("end").disabled = $("rolling").checked;
    document.querySelectorAll("[data-interactive]").forEach(function (element) {
      element.hidden = authOnly;
    });
    $("site").disabled = authOnly;
    $("submit").textContent = authOnly ? "Sign in" : "Get data";

    $("rolling").addEventListener("change", function () {
      $("end").disabled = $("rolling").checked;
      if ($("rolling").checked) { $("end").value = yesterday; }
    });
    $("load-sites").addEventListener("click", function () { loadSites(); });
    ["service-url", "token"].forEach(function (id) {
      $(id).addEventListener("change", function () {
        if (!authOnly && $("service-url").value && $("token").value) { loadSites(); }
      });
    });
    $("connect").addEventListener("submit", function (event) {
      event.preventDefault();
      submit(authOnly);
    });
    if (!authOnly && tableau.password) { loadSites(saved.siteId); }
  }

  var sitesAsked = 0;

  function loadSites(selected) {
    var current = {serviceUrl: $("service-url").value.trim(), token: $("token").value.trim()};
    if (!current.serviceUrl || !current.token) {
      say("Enter the Sitelens address and an API token first.", true);
      return;
    }
    var asked = ++sitesAsked;  // only the answer to the latest address and token counts
    say("Loading sites…");
    siteOptions("Loading…", []);
    api(current, "/api/v1/sites").then(function (body) {
      if (asked !== sitesAsked) { return; }
      var sites = body.sites;
      siteOptions(sites.length ? "Choose a site" : "No sites", sites);
      var wanted = sites.length === 1 ? sites[0].site_id : selected;
      $("site").value = sites.some(function (s) { return s.site_id === wanted; }) ? wanted : "";
      say(sites.length ? "" : "This token may not read any site.", !sites.length);
    }).catch(function (error) {
      if (asked !== sitesAsked) { return; }
      siteOptions("No sites loaded", []);
      say(error.message, true);
    });
  }

  function siteOptions(prompt, sites) {
    var select = $("site");
    select.options.length = 0;
    select.add(new Option(prompt, ""));
    sites.forEach(function (s) {
      select.add(new Option(s.domain + " (" + s.site_id + ", " + s.timezone + ")", s.site_id));
    });
  }

  function submit(authOnly) {
    tableau.password = $("token").value.trim();
    if (authOnly) {  // Tableau keeps every other setting in the auth phase
      tableau.submit();
      return;
    }
    var rolling = $("rolling").checked;
    var start = $("start").value;
    var end = rolling ? addDays(localToday(), -1) : $("end").value;
    if (start > end) {
      say("The first day must not be after the last one.", true);
      return;
    }
    var site = $("site");
    tableau.connectionData = JSON.stringify({
      serviceUrl: $("service-url").value.trim().replace(/\/+$/, ""), siteId: site.value,
      start: start, end: end, rolling: rolling
    });
    tableau.connectionName = "Sitelens: " + site.options[site.selectedIndex].text;
    tableau.submit();
  }
})();
