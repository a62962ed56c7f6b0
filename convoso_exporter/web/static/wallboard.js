// The wallboard: reads /api/v1/snapshot every few seconds and redraws in place when its
// generation changes. Every value from the API reaches the page through textContent,
// never as HTML. The status colours come from convoso_exporter/statuses.py (#legend).
(function () {
  "use strict";
  var legend = JSON.parse(document.getElementById("legend").textContent);
  var params = new URLSearchParams(location.search);
  var campaign = params.get("campaign"), queue = params.get("queue"), tv = params.get("tv") === "1";
  var scope = campaign !== null ? "campaign:" + campaign : queue !== null ? "queue:" + queue : null;
  var api = "/api/v1/snapshot" + (scope ? "?target=" + encodeURIComponent(scope) : "");
  var body = document.body, data = null, receivedAt = 0, failingSince = null, failure = "", missing = null, renders = 0;
  if (tv) body.classList.add("tv");

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function fill(node, children) { // replaceChildren, for older TV browsers too
    while (node.firstChild) node.removeChild(node.firstChild);
    children.forEach(function (child) { node.appendChild(child); });
  }
  function none(v) { return v === null || v === undefined; }
  function count(n) { return none(n) ? "–" : Number(n).toLocaleString("en-US"); }
  function pct(r) { return none(r) ? "–" : (r * 100).toFixed(2) + "%"; }
  function two(n) { return String(n).padStart(2, "0"); }
  function duration(s) { // 75 -> 1:15, 3725 -> 1:02:05
    if (none(s)) return "–";
    s = Math.max(0, Math.floor(s));
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    return h ? h + ":" + two(m) + ":" + two(s % 60) : m + ":" + two(s % 60);
  }
  function age(s) {
    s = Math.max(0, Math.round(s));
    if (s < 60) return s + "s";
    return s < 3600 ? Math.floor(s / 60) + "m " + s % 60 + "s" : Math.floor(s / 3600) + "h " + Math.floor(s % 3600 / 60) + "m";
  }
  function timeOfDay(ts) { var d = new Date(ts * 1000); return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds()); }
  function serverNow() { return data.generated_at + (Date.now() - receivedAt) / 1000; }
  function stale(h) { // a target entry or the account section
    if (!h || none(h.last_success)) return true;
    return !h.fresh || (!none(h.stale_after_seconds) && serverNow() - h.last_success > h.stale_after_seconds);
  }
  function colour(status) { // any string can be a status, "__proto__" too
    return Object.prototype.hasOwnProperty.call(legend.statuses, status) ? legend.statuses[status].colour : legend.other_colour;
  }
  function named(list, id) { var f = (list || []).find(function (x) { return x.id === id; }); return f && f.name ? f.name + " (" + id + ")" : id; }
  function headTarget() {
    return data.targets.find(function (t) { return scope ? t.name === scope : t.kind === "account"; }) || null;
  }
  function title() {
    var acc = data && data.account;
    if (campaign !== null) return "Campaign " + named(acc && acc.campaigns, campaign);
    if (queue !== null) return "Queue " + named(acc && acc.queues, queue);
    return "Whole account";
  }
  function tile(label, value, sub, cls) {
    var t = el("div", "tile" + (cls ? " " + cls : ""));
    fill(t, [el("div", "label", label), el("div", "value", value)]);
    if (sub) t.appendChild(el("div", "sub", sub));
    return t;
  }
  function link(text, query, current) {
    var a = el("a", "", text);
    a.href = "?" + query + (tv ? (query ? "&" : "") + "tv=1" : "");
    if (current) a.setAttribute("aria-current", "page");
    return a;
  }

  function renderNav(acc) {
    var nav = [link("All", "", scope === null)];
    [["campaign", "Campaigns:", acc ? acc.campaigns : []], ["queue", "Queues:", acc ? acc.queues : []]].forEach(function (kind) {
      if (kind[2].length) nav.push(el("span", "group", kind[1]));
      kind[2].forEach(function (s) {
        nav.push(link(s.name || s.id, kind[0] + "=" + encodeURIComponent(s.id), scope === kind[0] + ":" + s.id));
      });
    });
    fill($("nav"), nav);
  }

  function renderFigures(t) {
    var f = t && t.figures ? t.figures : {};
    var red = f.drop_rate !== undefined && f.drop_red;
    var limit = "red at " + pct(legend.drop_red).replace(".00", "");
    fill($("figures"), [
      tile("Dialable leads", count(f.dialable_leads)),
      tile("Calls today", count(f.calls_today)),
      tile("Answered", count(f.answered_today)),
      tile("Dropped", count(f.dropped_today)),
      tile("Drop % today", pct(f.drop_rate), red ? "OVER THE LINE (" + limit + ")" : limit, red ? "red drop" : "drop")]);
  }

  function renderStatuses(acc) {
    var tiles = [tile("Logged in", count(acc ? acc.logged_in : null))];
    var theirs = acc ? acc.convoso_counts : null; // user-activity search: Convoso's own count, beside ours
    if (theirs) {
      var late = theirs.fresh ? "" : " (stale)";
      [["Convoso: logged in", theirs.logged_in, "we count " + count(acc.logged_in) + late],
       ["Convoso: available", theirs.available, "we count " + count(acc.by_status.READY) + " ready" + late]]
        .forEach(function (c) {
          var t = tile(c[0], count(c[1]), c[2], "service");
          t.dataset.source = "convoso";
          tiles.push(t);
        });
    }
    Object.keys(acc ? acc.by_status : {}).forEach(function (status) {
      var t = tile(status || "(no status)", count(acc.by_status[status]), null, "status");
      t.style.borderTopColor = colour(status);
      t.dataset.status = status;
      tiles.push(t);
    });
    fill($("statuses"), tiles);
  }

  function agentRow(a) {
    var row = el("div", "row" + (a.status === "LOGGED_OUT" ? " out" : ""));
    row.setAttribute("role", "row");
    var chip = el("span", "chip", a.status || "(none)");
    chip.style.background = colour(a.status);
    var level = a.time_level || "ok";
    var time = el("span", "num time " + level, duration(a.status_seconds) + (level === "alert" ? " !!" : level === "warn" ? " !" : ""));
    var who = el("span", "name", none(a.name) ? a.user_id : a.name);
    who.title = "user " + a.user_id + (a.extension ? ", extension " + a.extension : "");
    var campaignName = a.campaign_name || a.campaign_id || "", queueName = a.queue_name || a.queue_id || "";
    var both = [campaignName, queueName].filter(function (x) { return x; }).join(" · ");
    // A queue named after its campaign ("Sales" · "Sales Main") is shown once.
    var where = el("span", "where", campaignName && queueName.indexOf(campaignName) === 0 ? queueName : both);
    where.title = both;
    fill(row, [chip, who, time, el("span", "num", count(a.calls_today)), where]);
    return row;
  }

  function renderAgents() {
    var box = $("agents");
    if (!data.agents) {
      fill(box, [el("p", "empty", "Per-agent rows are switched off on this exporter (agent_metrics: false).")]);
      return;
    }
    var head = el("div", "row head");
    head.setAttribute("role", "row");
    fill(head, [["", "Status"], ["", "Agent"], ["num", "Time"], ["num", "Calls"], ["where", "Campaign · queue"]].map(
      function (h) { return el("span", h[0], h[1]); }));
    var rows = data.agents.map(agentRow);
    fill(box, [head].concat(rows.length ? rows : [el("p", "empty", "No agents in this scope.")]));
  }

  function render() {
    renders += 1;
    var acc = data.account;
    body.dataset.renders = renders;
    body.dataset.generation = data.generation;
    body.dataset.accountSuccess = acc && !none(acc.last_success) ? acc.last_success : "";
    $("title").textContent = title();
    document.title = title() + " · wallboard";
    $("banner").textContent = data.exporter.banner || "";
    $("banner").hidden = !data.exporter.banner;
    renderNav(acc);
    renderFigures(headTarget());
    renderStatuses(acc);
    renderAgents();
    tick();
    if (renders === 1 && window.performance && performance.mark) performance.mark("wallboard-rendered");
  }

  function tick() {
    var now = new Date();
    $("clock").textContent = two(now.getHours()) + ":" + two(now.getMinutes()) + ":" + two(now.getSeconds());
    var alarms = [], notes = [];
    if (failingSince !== null) alarms.push("No answer from the exporter for " + age((Date.now() - failingSince) / 1000) + " (" + failure + ")");
    if (missing !== null) alarms.push(title() + " is not polled by this exporter (" + missing + "); it may not be discovered yet");
    if (data) {
      var acc = data.account, t = headTarget();
      var sources = scope ? [["Agents", acc], ["Figures", t]] : [["Data", acc]]; // one answer for both
      if (!acc) alarms.push("The account is not polled: no agents to show");
      sources.forEach(function (s) {
        var h = s[1];
        if (!h) return;
        if (none(h.last_success)) { alarms.push(s[0] + ": no data yet"); return; }
        var old = serverNow() - h.last_success;
        notes.push(s[0] + " as of " + timeOfDay(h.last_success) + " (" + age(old) + " ago)");
        if (stale(h)) alarms.push("STALE DATA — " + s[0].toLowerCase() + " last updated " + age(old) + " ago" + (h.last_error ? ": " + h.last_error : ""));
        else if (!h.up && h.last_error) notes.push("last poll failed: " + h.last_error);
      });
      notes.push("updates every " + refresh() / 1000 + " s", "exporter " + data.exporter.version);
    }
    $("alarm").textContent = alarms.join(" · ");
    $("alarm").hidden = !alarms.length;
    body.classList.toggle("stale", alarms.length > 0);
    body.dataset.stale = alarms.length ? "1" : "0";
    $("age").textContent = notes.join(" · ");
  }

  function refresh() { // a third of the poll interval, 1 to 5 seconds
    var every = data ? Math.round(data.exporter.poll_interval_seconds / 3) : 2;
    return Math.min(5, Math.max(1, every)) * 1000;
  }

  function poll() {
    fetch(api, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) {
        return r.json().catch(function () { return { error: "HTTP " + r.status }; }).then(function (doc) {
          if (r.status === 404 && doc.error) return doc; // the scope is not polled (yet)
          if (!r.ok) throw new Error(doc.error || "HTTP " + r.status);
          return doc;
        });
      })
      .then(function (doc) {
        failingSince = null;
        missing = doc.schema === undefined ? doc.error : null;
        var changed = missing === null && (!data || doc.generation !== data.generation);
        data = missing === null ? doc : null;
        if (missing !== null) ["figures", "statuses", "agents"].forEach(function (id) { fill($(id), []); });
        receivedAt = Date.now();
        if (changed) render(); else tick();
      }, function (err) {
        if (failingSince === null) failingSince = Date.now();
        failure = err && err.message ? err.message : String(err);
        tick();
      })
      .then(function () { setTimeout(poll, refresh()); });
  }

  setInterval(tick, 1000);
  poll();
})();
