/* A stand-in for Tableau's WDC 2.3 library (tableauwdc-2.3.latest.js) in browser tests.
 *
 * It offers the API surface a connector uses and drives the connector the way Tableau does:
 * init in the page's phase; after submit() (or straight away when the test starts the page
 * in the gather-data phase, as a refresh does) init again, getSchema, then getData for every
 * table, one after the other. Everything is recorded in window.__tableau.
 *
 * The test configures it before the page loads with window.__tableauConfig:
 *   {phase: "interactive" | "auth" | "gatherData", connectionData, password,
 *    incrementValues: {tableId: value}}
 */
(function () {
  "use strict";

  var config = window.__tableauConfig || {};
  var phaseEnum = {interactivePhase: "interactive", authPhase: "auth",
                   gatherDataPhase: "gatherData"};
  var record = window.__tableau = {
    phases: [], submitted: null, schema: null, data: {}, requested: [], errors: [],
    misuse: [], logs: [], progress: [], done: false
  };
  var connector = null;

  var tableau = window.tableau = {
    version: "2.3-standin",
    phaseEnum: phaseEnum,
    authTypeEnum: {none: "none", basic: "basic", custom: "custom"},
    dataTypeEnum: {bool: "bool", date: "date", datetime: "datetime", float: "float",
                   geometry: "geometry", int: "int", string: "string"},
    phase: config.phase || phaseEnum.interactivePhase,
    authType: "none",
    connectionData: config.connectionData || "",
    connectionName: "",
    username: config.username || "",
    password: config.password || "",

    makeConnector: function () {
      return {init: function (cb) { cb(); }, shutdown: function (cb) { cb(); }};
    },
    registerConnector: function (registered) {
      connector = registered;
      setTimeout(function () {  // the real library initialises after the page's scripts
        init(function () {
          if (tableau.phase === phaseEnum.gatherDataPhase) { gather(); }
        });
      }, 0);
    },
    submit: function () {
      record.submitted = {connectionData: tableau.connectionData,
                          connectionName: tableau.connectionName,
                          password: tableau.password, authType: tableau.authType};
      tableau.phase = phaseEnum.gatherDataPhase;  // Tableau reloads the page for this phase
      setTimeout(function () { init(gather); }, 0);
    },
    abortWithError: function (message) {
      record.errors.push(String(message));
      record.done = true;
    },
    abortForAuth: function (message) { tableau.abortWithError("abortForAuth: " + message); },
    log: function (message) { record.logs.push(String(message)); },
    reportProgress: function (message) { record.progress.push(String(message)); }
  };

  function init(then) {
    record.phases.push(tableau.phase);
    var called = false;
    connector.init(function () {
      if (called) { record.misuse.push("initCallback called twice"); }
      called = true;
      then();
    });
  }

  function gather() {
    connector.getSchema(function (tableInfos) {
      record.schema = tableInfos;
      getData(tableInfos, 0);
    });
  }

  function getData(tableInfos, index) {
    if (record.done) { return; }  // aborted
    if (index === tableInfos.length) {
      record.done = true;
      return;
    }
    var info = tableInfos[index];
    var columns = info.columns.map(function (c) { return c.id; });
    var rows = record.data[info.id] = [];
    var finished = false;
    var table = {
      tableInfo: info,
      incrementValue: (config.incrementValues || {})[info.id],
      isJoinFiltered: false,
      filterValues: [],
      appendRows: function (appended) {
        if (finished) { record.misuse.push(info.id + ": appendRows after doneCallback"); }
        if (!Array.isArray(appended)) { record.misuse.push(info.id + ": rows not an array"); }
        appended.forEach(function (row) {
          Object.keys(row).forEach(function (key) {
            if (columns.indexOf(key) < 0) { record.misuse.push(info.id + ": no column " + key); }
          });
          rows.push(row);
        });
      }
    };
    record.requested.push({table: info.id, incrementValue: table.incrementValue});
    connector.getData(table, function () {
      if (finished) { record.misuse.push(info.id + ": doneCallback called twice"); }
      finished = true;
      getData(tableInfos, index + 1);
    });
  }
})();
