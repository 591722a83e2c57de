/**
 * The dashboard's only script, as a string module (tsc ships it; no bundler, no CDN). Small
 * islands, each switched on by markup: confirmation of destructive forms, live regions that
 * poll a server-rendered fragment, the run log over server-sent events (follow mode, resume
 * after a reconnect without gaps or duplicates) and the model chart (uPlot, loaded only on
 * the models page).
 */
export const CLIENT = String.raw`(function () {
'use strict';
var d = document;
d.addEventListener('submit', function (e) {
  var f = e.target;
  var msg = f.getAttribute('data-confirm');
  if (msg && !window.confirm(msg)) e.preventDefault();
});

function poll(el) {
  var url = el.getAttribute('data-poll');
  var every = Number(el.getAttribute('data-every')) || 5000;
  var busy = false;
  setInterval(function () {
    if (d.hidden || busy) return;
    busy = true;
    fetch(url, { headers: { accept: 'text/html' }, credentials: 'same-origin' })
      .then(function (r) {
        if (r.status === 401) { location.reload(); return; }
        return r.ok ? r.text() : undefined;
      })
      .then(function (t) { if (t !== undefined) el.innerHTML = t; })
      .catch(function () {})
      .then(function () { busy = false; });
  }, every);
}
Array.prototype.forEach.call(d.querySelectorAll('[data-poll]'), poll);

function refresh(id) {
  var el = d.getElementById(id);
  if (!el || !el.getAttribute('data-src')) return;
  fetch(el.getAttribute('data-src'), { credentials: 'same-origin' })
    .then(function (r) { return r.ok ? r.text() : undefined; })
    .then(function (t) { if (t !== undefined) el.innerHTML = t; })
    .catch(function () {});
}

var log = d.getElementById('log');
if (log && log.getAttribute('data-events')) {
  var last = Number(log.getAttribute('data-after')) || 0;
  var follow = d.getElementById('follow');
  var state = d.getElementById('log-state');
  var pending = null;
  var say = function (t) { if (state) state.textContent = t; };
  var atBottom = function () { return log.scrollHeight - log.scrollTop - log.clientHeight < 30; };
  log.addEventListener('scroll', function () {
    if (follow && follow.checked && !atBottom() && !log.dataset.scrolling) follow.checked = false;
  });
  var scroll = function () {
    if (follow && follow.checked) {
      log.dataset.scrolling = '1';
      log.scrollTop = log.scrollHeight;
      setTimeout(function () { delete log.dataset.scrolling; }, 50);
    }
  };
  if (follow) follow.addEventListener('change', scroll);
  scroll();
  var es;
  var open = function () {
    // After a reconnect the browser sends Last-Event-ID itself; ?after= covers a fresh start.
    es = new EventSource(log.getAttribute('data-events') + '?after=' + last);
    es.addEventListener('open', function () { say('live'); });
    es.addEventListener('log', function (m) {
      var l = JSON.parse(m.data);
      if (l.seq <= last) return; // already shown: never twice
      last = l.seq;
      var row = d.createElement('span');
      row.className = 'l';
      row.setAttribute('data-seq', String(l.seq));
      var st = d.createElement('span');
      st.className = 'st';
      st.textContent = l.at.slice(11, 19) + ' ' + (l.stage + '           ').slice(0, 12);
      row.appendChild(st);
      row.appendChild(d.createTextNode(l.line));
      log.appendChild(row);
      scroll();
      if (/^[\u25b6\u2713\u2717\u2212] /.test(l.line)) {
        clearTimeout(pending);
        pending = setTimeout(function () { refresh('summary'); }, 300);
      }
    });
    es.addEventListener('end', function () {
      es.close();
      say('finished');
      setTimeout(function () { refresh('summary'); }, 200);
    });
    es.addEventListener('error', function () {
      if (es.readyState === 2) { say('disconnected: retrying'); setTimeout(open, 3000); }
      else say('reconnecting');
    });
  };
  open();
}

var chart = d.getElementById('chart');
if (chart && window.uPlot) {
  var data = JSON.parse(d.getElementById('chart-data').textContent);
  var pick = d.getElementById('metric');
  var plot;
  var css = getComputedStyle(d.documentElement);
  var color = function (v) { return css.getPropertyValue(v).trim() || '#888'; };
  var draw = function () {
    var m = pick.value;
    var xs = data.versions.map(function (_, i) { return i; });
    var ys = data.versions.map(function (v) { var x = v.metrics[m]; return typeof x === 'number' ? x : null; });
    var series = [{ label: 'version', value: function (u, i) { return i == null ? '' : data.versions[i] ? data.versions[i].version : ''; } },
      { label: m, stroke: color('--link'), width: 2, points: { show: true, size: 7 } }];
    var cols = [xs, ys];
    var g = data.gate[m] || {};
    ['min', 'max'].forEach(function (k) {
      if (typeof g[k] === 'number') {
        series.push({ label: 'gate ' + k, stroke: color('--bad'), dash: [6, 4], width: 1.5, points: { show: false } });
        cols.push(xs.map(function () { return g[k]; }));
      }
    });
    var opts = {
      width: Math.min(chart.clientWidth || 800, 1100), height: 300, series: series,
      scales: { x: { time: false } },
      axes: [{ stroke: color('--muted'), grid: { stroke: color('--line') }, splits: function () { return xs; }, values: function (u, t) { return t.map(function (i) { return data.versions[i] ? data.versions[i].version : ''; }); } },
        { stroke: color('--muted'), grid: { stroke: color('--line') } }]
    };
    if (plot) plot.destroy();
    plot = new window.uPlot(opts, cols, chart);
  };
  pick.addEventListener('change', draw);
  draw();
}
})();
`;
