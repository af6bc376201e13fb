// vendorguard operator console (issue #7). Plain DOM, no framework, no build step.
//
// Security: the page runs under a strict CSP (script-src 'self', style-src 'self'), so there are no inline
// scripts, styles or handlers here. Everything shown may be attacker-influenced (event names, vendor error
// texts, user names), so the DOM is built with createElement/textContent only; innerHTML is never used.
'use strict';

(function () {
  // --- small DOM helpers ---------------------------------------------------------------------------------

  // el('tag', {class, text, on: {click: fn}, ...attributes}, ...children). Children: nodes, strings
  // (text nodes), arrays, null/false (skipped).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [key, value] of Object.entries(attrs)) {
        if (value === undefined || value === null || value === false) continue;
        if (key === 'class') node.className = value;
        else if (key === 'text') node.textContent = String(value);
        else if (key === 'on') for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
        else if (key === 'value') node.value = value;
        else if (key === 'checked' || key === 'disabled' || key === 'hidden' || key === 'selected') node[key] = !!value;
        else node.setAttribute(key, value === true ? '' : String(value));
      }
    }
    append(node, children);
    return node;
  }
  function append(node, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(node, child);
      else if (child instanceof Node) node.appendChild(child);
      else node.appendChild(document.createTextNode(String(child)));
    }
    return node;
  }
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }
  const $ = (id) => document.getElementById(id);

  let idCounter = 0;
  const uid = (prefix) => `${prefix}-${++idCounter}`;

  // A labelled form field: returns {wrap, input}.
  function field(labelText, inputAttrs, hint) {
    const id = inputAttrs.id || uid('f');
    const tag = inputAttrs.tag || 'input';
    const attrs = { ...inputAttrs, id };
    delete attrs.tag;
    let hintNode = null;
    if (hint) {
      const hintId = `${id}-hint`;
      attrs['aria-describedby'] = hintId;
      hintNode = el('span', { class: 'hint', id: hintId, text: hint });
    }
    const input = el(tag, attrs);
    const wrap = el('div', { class: 'field' }, el('label', { for: id, text: labelText }), input, hintNode);
    return { wrap, input };
  }

  // --- formatting ----------------------------------------------------------------------------------------

  const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const rateFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });
  function fmtInt(n) { return typeof n === 'number' && Number.isFinite(n) ? intFmt.format(n) : '—'; }
  function fmtRate(n) { return typeof n === 'number' && Number.isFinite(n) ? rateFmt.format(n) : '—'; }
  function fmtBytes(n) {
    if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
  }
  function fmtAge(s) {
    if (typeof s !== 'number' || !Number.isFinite(s)) return '—';
    if (s < 90) return `${Math.round(s)} s`;
    if (s < 90 * 60) return `${Math.round(s / 60)} min`;
    if (s < 48 * 3600) return `${(s / 3600).toFixed(1)} h`;
    return `${(s / 86400).toFixed(1)} d`;
  }
  // ISO 8601 -> "2026-11-29 14:03:12 UTC" in a <time> element; '—' for null.
  function fmtTimeText(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace('Z', ' UTC');
  }
  function timeEl(iso) {
    if (!iso) return document.createTextNode('—');
    return el('time', { datetime: String(iso), text: fmtTimeText(iso) });
  }
  function pretty(value) { return JSON.stringify(value, null, 2); }

  // --- status and alerts ---------------------------------------------------------------------------------

  let statusTimer = null;
  function announce(message) {
    const node = $('status');
    node.textContent = message;
    node.classList.toggle('visible', !!message);
    clearTimeout(statusTimer);
    if (message) statusTimer = setTimeout(() => { node.textContent = ''; node.classList.remove('visible'); }, 8000);
  }
  // A page-level error (role=alert). `kind`: 'error' | 'forbidden'.
  function showAlert(message, kind = 'error') {
    const region = $('alert');
    // The same error again (e.g. from a poll) is left as it is, so it is not announced every 2 seconds.
    if (message && region.dataset.message === `${kind}:${message}` && region.firstChild) return;
    clear(region);
    region.dataset.message = message ? `${kind}:${message}` : '';
    if (!message) return;
    region.appendChild(el('div', { class: `banner banner-${kind}`, role: 'alert' },
        el('strong', { text: kind === 'forbidden' ? 'Not allowed: ' : 'Error: ' }), message,
        el('button', { type: 'button', class: 'btn btn-small btn-ghost', 'aria-label': 'Dismiss message',
                       on: { click: () => { clear(region); region.dataset.message = ''; } } }, '×')));
  }
  function forbiddenText(err) {
    return `${err.message} Your role (${session ? session.role : 'none'}) does not allow this.`;
  }
  // Shows an API error where it belongs: 401 -> login page, 403 -> "not allowed", else an error banner.
  function reportError(err) {
    if (err && err.status === 401) return;  // api() already switched to the login page
    if (err && err.status === 403) showAlert(forbiddenText(err), 'forbidden');
    else showAlert(err && err.message ? err.message : String(err));
  }

  // --- API -----------------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  let session = null;  // {user, role, csrf_token, expires_at}
  const ROLE_RANK = { viewer: 0, operator: 1, admin: 2 };
  function can(role) { return !!session && (ROLE_RANK[session.role] ?? -1) >= ROLE_RANK[role]; }

  async function api(method, path, body, { allow401 = false } = {}) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET' && method !== 'HEAD' && session && session.csrf_token) {
      headers['X-CSRF-Token'] = session.csrf_token;
    }
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, `The console cannot reach the gateway (${e.message || e}).`);
    }
    let data = null;
    const text = await res.text();
    if (text) {
      try { data = JSON.parse(text); } catch { data = null; }
    }
    if (!res.ok) {
      const message = (data && typeof data.error === 'string' && data.error) || `${res.status} ${res.statusText}`.trim();
      const err = new ApiError(res.status, message);
      if (res.status === 401 && !allow401) sessionLost('Your session has ended. Please sign in again.');
      throw err;
    }
    return data || {};
  }

  // --- session -------------------------------------------------------------------------------------------

  let expiryTimer = null;
  function setSession(s) {
    session = s;
    clearTimeout(expiryTimer);
    const nav = $('nav');
    const who = $('whoami');
    if (!s) {
      nav.hidden = true;
      who.hidden = true;
      return;
    }
    nav.hidden = false;
    who.hidden = false;
    $('whoami-text').textContent = `${s.user} (${s.role})`;
    for (const item of nav.querySelectorAll('[data-min-role]')) item.hidden = !can(item.dataset.minRole);
    const ms = s.expires_at ? new Date(s.expires_at).getTime() - Date.now() : NaN;
    if (Number.isFinite(ms) && ms > 0 && ms < 2 ** 31 - 1) {
      // At the expiry time, ask the server: it may have extended the session.
      expiryTimer = setTimeout(async () => {
        try {
          const fresh = await api('GET', '/api/v1/session', undefined, { allow401: true });
          if (fresh && fresh.user && new Date(fresh.expires_at).getTime() > Date.now()) {
            setSession(fresh);
            return;
          }
        } catch { /* expired */ }
        sessionLost('Your session has expired. Please sign in again.');
      }, ms + 1000);
    }
  }

  let loginNotice = '';
  function sessionLost(message) {
    if (!session && currentRoute === 'login') return;
    setSession(null);
    loginNotice = message;
    render();
  }

  // --- router --------------------------------------------------------------------------------------------

  let currentRoute = null;
  let cleanups = [];  // run when leaving the current view (timers, charts)
  function onLeave(fn) { cleanups.push(fn); }

  // A polling loop that does not overlap, skips while the tab is hidden, and stops on leaving the view.
  function poll(fn, intervalMs) {
    let stopped = false;
    let timer = null;
    const tick = async () => {
      if (stopped) return;
      if (!document.hidden) {
        try { await fn(); } catch (e) { reportError(e); if (e && e.status === 401) return; }
      }
      if (!stopped) timer = setTimeout(tick, intervalMs);
    };
    const stop = () => { stopped = true; clearTimeout(timer); };
    onLeave(stop);
    tick();
    return stop;
  }

  const ROUTES = {
    vendors: { title: 'Vendors', render: renderVendors },
    categories: { title: 'Data categories', render: renderCategories },
    playground: { title: 'Policy playground', render: renderPlayground },
    incidents: { title: 'Incidents', render: renderIncidents },
    ledger: { title: 'Ledger', render: renderLedger },
    audit: { title: 'Audit log', render: renderAudit },
    users: { title: 'Users', render: renderUsers, role: 'admin' },
  };

  function parseHash() {
    const parts = (location.hash || '').replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
    return { name: parts[0] || 'vendors', args: parts.slice(1) };
  }

  function render() {
    for (const fn of cleanups.splice(0)) {
      try { fn(); } catch { /* ignore */ }
    }
    showAlert('');
    announce('');
    const view = clear($('view'));
    if (!session) {
      currentRoute = 'login';
      document.title = 'Sign in — vendorguard';
      renderLogin(view);
      return;
    }
    const { name, args } = parseHash();
    const route = ROUTES[name];
    currentRoute = route ? name : 'notfound';
    for (const a of $('nav').querySelectorAll('a[data-route]')) {
      if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    if (!route) {
      document.title = 'Not found — vendorguard';
      view.appendChild(el('h1', { tabindex: '-1', text: 'Page not found' }));
      view.appendChild(el('p', {}, 'There is no such page. ', el('a', { href: '#/vendors', text: 'Go to vendors' })));
      focusHeading(view);
      return;
    }
    document.title = `${route.title} — vendorguard`;
    if (route.role && !can(route.role)) {
      view.appendChild(el('h1', { tabindex: '-1', text: route.title }));
      view.appendChild(el('div', { class: 'banner banner-forbidden', role: 'alert' },
          `This page needs the ${route.role} role; you are signed in as ${session.role}.`));
      focusHeading(view);
      return;
    }
    route.render(view, args);
    focusHeading(view);
  }

  let firstRender = true;
  function focusHeading(view) {
    // Move focus to the new page's heading (not on first load, to keep the page calm).
    if (firstRender) { firstRender = false; return; }
    const h1 = view.querySelector('h1');
    if (h1) h1.focus({ preventScroll: false });
  }

  function pageHeader(title, ...extra) {
    return el('div', { class: 'page-header' }, el('h1', { tabindex: '-1', text: title }), ...extra);
  }

  // A table inside a horizontally scrolling, focusable region (so keyboard users can scroll it).
  function tableWrap(caption, table) {
    return el('div', { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: '0' }, table);
  }
  function thead(...names) {
    return el('thead', {}, el('tr', {}, names.map((n) => el('th', { scope: 'col', text: n }))));
  }

  function badge(state) {
    const labels = { active: 'Active', paused: 'Paused', cut: 'Cut', ok: 'Verified', failed: 'Failed',
                     running: 'Running', never: 'Never run' };
    const known = Object.prototype.hasOwnProperty.call(labels, state);
    return el('span', { class: `badge badge-${known ? state : 'unknown'}` },
        el('span', { class: 'badge-dot', 'aria-hidden': 'true' }), known ? labels[state] : String(state));
  }

  // --- login ---------------------------------------------------------------------------------------------

  function renderLogin(view) {
    const user = field('User name', { name: 'user', autocomplete: 'username', required: true, autocapitalize: 'off',
                                      spellcheck: 'false' });
    const password = field('Password', { name: 'password', type: 'password', autocomplete: 'current-password',
                                         required: true });
    const code = field('6-digit code', { name: 'code', autocomplete: 'one-time-code', inputmode: 'numeric',
                                         required: true, autocapitalize: 'off', spellcheck: 'false' },
                       'From your authenticator app.');
    const codeLabel = code.wrap.querySelector('label');
    const codeHint = code.wrap.querySelector('.hint');
    let recovery = false;
    const toggle = el('button', { type: 'button', class: 'btn-link', text: 'Use a recovery code instead',
                                  on: { click: () => {
                                    recovery = !recovery;
                                    codeLabel.textContent = recovery ? 'Recovery code' : '6-digit code';
                                    code.input.setAttribute('inputmode', recovery ? 'text' : 'numeric');
                                    codeHint.textContent = recovery ? 'One of the codes you saved when your account was set up. Each works once.'
                                                                    : 'From your authenticator app.';
                                    toggle.textContent = recovery ? 'Use the authenticator code instead'
                                                                  : 'Use a recovery code instead';
                                    code.input.value = '';
                                    code.input.focus();
                                  } } });
    const error = el('p', { id: 'login-error', class: 'form-error', role: 'alert' });
    const submit = el('button', { type: 'submit', class: 'btn btn-primary btn-block', text: 'Sign in' });
    const notice = loginNotice ? el('p', { class: 'banner banner-info', role: 'status', text: loginNotice }) : null;
    loginNotice = '';
    const form = el('form', { class: 'login-form', id: 'login-form', 'aria-labelledby': 'login-title', novalidate: true },
        user.wrap, password.wrap, code.wrap, el('div', { class: 'login-toggle' }, toggle), error, submit);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      const values = { user: user.input.value.trim(), password: password.input.value,
                       code: code.input.value.replace(/\s+/g, '') };
      const missing = !values.user ? user.input : !values.password ? password.input : !values.code ? code.input : null;
      if (missing) {
        error.textContent = 'Enter your user name, password and code.';
        missing.focus();
        return;
      }
      submit.disabled = true;
      submit.textContent = 'Signing in…';
      try {
        const s = await api('POST', '/api/v1/login', values, { allow401: true });
        setSession(s);
        firstRender = false;
        if (!location.hash || location.hash === '#/login') location.hash = '#/vendors';
        render();
      } catch (e) {
        let message = e.message;
        if (e.status === 401) message = `Sign-in failed: ${e.message}`;
        else if (e.status === 429) message = `Too many attempts: ${e.message}`;
        error.textContent = message;
        code.input.value = '';
        (e.status === 401 ? code.input : user.input).focus();
      } finally {
        submit.disabled = false;
        submit.textContent = 'Sign in';
      }
    });
    view.appendChild(el('section', { class: 'login-card' },
        el('h1', { id: 'login-title', tabindex: '-1', text: 'Sign in to the console' }),
        el('p', { class: 'muted', text: 'Operators and administrators of this vendorguard gateway.' }),
        notice, form));
    setTimeout(() => user.input.focus(), 0);
  }

  // --- vendors -------------------------------------------------------------------------------------------

  const SERIES_COLORS = ['#2563eb', '#d97706', '#059669', '#7c3aed', '#db2777', '#0891b2', '#65a30d', '#b91c1c'];

  function renderVendors(view) {
    view.appendChild(pageHeader('Vendors',
        el('p', { class: 'muted', text: 'Live queue and delivery state of every vendor. Updates every 2 seconds.' })));

    const tbody = el('tbody');
    const table = el('table', { class: 'data vendors-table', id: 'vendors-table' },
        el('caption', { class: 'sr-only', text: 'Vendors' }),
        // Actions right after the state, so the kill switch is in view on a laptop and a phone too.
        thead('Vendor', 'State', 'Actions', 'Accepted', 'Delivered', 'Rate in / out', 'Queue', 'Failures', 'Last error'),
        tbody);
    const empty = el('p', { class: 'muted', hidden: true, text: 'No vendors are configured.' });
    const updated = el('p', { class: 'muted small', id: 'vendors-updated' });
    view.appendChild(el('section', { 'aria-labelledby': 'vendors-h' },
        el('h2', { id: 'vendors-h', class: 'sr-only', text: 'Vendor table' }),
        tableWrap('Vendors', table), empty, updated));

    // The flow chart, with a text readout for screen readers and tests.
    const chartBox = el('div', { class: 'chart', id: 'flow-chart', role: 'img',
                                 'aria-label': 'Events delivered per second by vendor, last 5 minutes' });
    const readout = el('ul', { class: 'flow-readout', id: 'flow-readout', 'aria-label': 'Flow summary' });
    view.appendChild(el('section', { class: 'card', 'aria-labelledby': 'flow-h' },
        el('h2', { id: 'flow-h', text: 'Live flow: events delivered per second' }),
        chartBox, readout));

    const rows = new Map();  // name -> {tr, cells, actionsKey}

    function row(v) {
      let r = rows.get(v.name);
      if (!r) {
        const cells = {};
        const tr = el('tr', { 'data-vendor': v.name });
        const nameCell = el('th', { scope: 'row', class: 'vendor-name' });
        tr.appendChild(nameCell);
        for (const col of ['state', 'actions', 'accepted', 'delivered', 'rate', 'queue', 'failures', 'last_error']) {
          cells[col] = el('td', { 'data-col': col, class: `col-${col}` });
          tr.appendChild(cells[col]);
        }
        cells.name = nameCell;
        r = { tr, cells, actionsKey: null, stateKey: null };
        rows.set(v.name, r);
      }
      return r;
    }

    function updateRow(v) {
      const r = row(v);
      const c = r.cells;
      if (c.name.dataset.shadow !== String(!!v.shadow) || !c.name.firstChild) {
        clear(c.name);
        c.name.dataset.shadow = String(!!v.shadow);
        append(c.name, [el('span', { text: v.name }),
                        v.shadow ? el('span', { class: 'badge badge-shadow', title: 'Shadow mode: not really sent' }, 'Shadow') : null]);
      }
      if (r.stateKey !== v.state) {
        clear(c.state).appendChild(badge(v.state));
        r.stateKey = v.state;
      }
      c.accepted.textContent = fmtInt(v.accepted);
      c.delivered.textContent = fmtInt(v.delivered);
      c.rate.textContent = `${fmtRate(v.accepted_per_s)} / ${fmtRate(v.delivered_per_s)} /s`;
      clear(c.queue);
      append(c.queue, [el('span', { class: 'num', text: fmtInt(v.pending) }),
                       el('span', { class: 'sub', text: ` ${fmtBytes(v.pending_bytes)}` }),
                       v.pending > 0 ? el('span', { class: 'sub block', text: `oldest ${fmtAge(v.oldest_pending_age_s)}` }) : null]);
      clear(c.failures);
      const failures = [['retries', v.retries, 'retries'], ['dead_lettered', v.dead_lettered ?? v.dead_letters, 'dead-lettered'],
                        ['discarded', v.discarded, 'discarded']];
      for (const [key, n, label] of failures) {
        c.failures.appendChild(el('span', { class: n > 0 ? 'fail-line nonzero' : 'fail-line', 'data-count': key },
            el('span', { class: 'num', text: fmtInt(n) }), ` ${label}`));
      }
      const errKey = `${v.last_error}|${v.last_error_at}`;
      if (c.last_error.dataset.key !== errKey) {
        c.last_error.dataset.key = errKey;
        clear(c.last_error);
        if (v.last_error) {
          append(c.last_error, [el('span', { class: 'error-text', text: v.last_error }),
                                el('span', { class: 'sub block' }, timeEl(v.last_error_at))]);
        } else {
          c.last_error.appendChild(el('span', { class: 'muted', text: 'none' }));
        }
      }
      const actionsKey = `${v.state}|${session.role}`;
      if (r.actionsKey !== actionsKey) {
        r.actionsKey = actionsKey;
        const hadFocus = c.actions.contains(document.activeElement);
        clear(c.actions);
        c.actions.appendChild(actionButtons(v));
        if (hadFocus) c.actions.querySelector('button')?.focus();
      }
    }

    function actionButtons(v) {
      const box = el('div', { class: 'actions' });
      if (!can('operator')) {
        box.appendChild(el('span', { class: 'muted small', text: 'view only' }));
        return box;
      }
      if (v.state === 'active') {
        box.appendChild(el('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Pause ${v.name}`,
                                       'data-action': 'pause', on: { click: (e) => setState(v.name, 'pause', e.currentTarget) } },
                           'Pause'));
      } else if (v.state === 'paused') {
        box.appendChild(el('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Resume ${v.name}`,
                                       'data-action': 'resume', on: { click: (e) => setState(v.name, 'resume', e.currentTarget) } },
                           'Resume'));
      }
      if (v.state !== 'cut') {
        box.appendChild(el('button', { type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Cut ${v.name}`,
                                       'data-action': 'cut', on: { click: () => openCutDialog(v.name, refresh) } },
                           'Cut'));
      } else {
        box.appendChild(el('span', { class: 'muted small', text: 'cut off' }));
      }
      return box;
    }

    async function setState(name, action, button) {
      button.disabled = true;
      try {
        const res = await api('POST', `/api/v1/vendors/${encodeURIComponent(name)}/${action}`);
        announce(`${res.vendor || name} is now ${res.state || (action === 'pause' ? 'paused' : 'active')}.`);
        await refresh();
      } catch (e) {
        reportError(e);
      } finally {
        button.disabled = false;
      }
    }

    let lastVendors = [];
    async function refresh() {
      const data = await api('GET', '/api/v1/vendors');
      const vendors = Array.isArray(data.vendors) ? data.vendors : [];
      lastVendors = vendors;
      const seen = new Set();
      vendors.forEach((v, i) => {
        updateRow(v);
        seen.add(v.name);
        const tr = rows.get(v.name).tr;
        if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
      });
      for (const [name, r] of rows) {
        if (!seen.has(name)) { r.tr.remove(); rows.delete(name); }
      }
      empty.hidden = vendors.length > 0;
      updated.textContent = `Updated ${fmtTimeText(new Date().toISOString())}`;
    }

    const chart = flowChart(chartBox, readout);
    onLeave(() => chart.destroy());
    poll(async () => {
      const [, flows] = await Promise.all([refresh(), api('GET', '/api/v1/flows?seconds=300')]);
      chart.update(flows, lastVendors);
    }, 2000);
  }

  // One uPlot chart, a series per vendor (delivered/s). Falls back to the text readout alone when uPlot is
  // not loaded.
  function flowChart(box, readout) {
    let plot = null;
    let key = '';
    let resizeObs = null;
    const width = () => Math.max(260, box.clientWidth || 600);
    const height = () => (window.matchMedia('(max-width: 600px)').matches ? 200 : 260);

    function build(names, data) {
      if (plot) plot.destroy();
      plot = null;
      if (typeof window.uPlot !== 'function') return;
      const series = [{ label: 'Time (UTC)', value: (u, v) => (v == null ? '—' : fmtTimeText(new Date(v * 1000).toISOString())) }];
      names.forEach((name, i) => series.push({
        label: name,
        stroke: SERIES_COLORS[i % SERIES_COLORS.length],
        width: 2,
        // Every other line dashed, so the lines differ by more than color.
        dash: i % 2 === 1 ? [8, 4] : undefined,
        points: { show: false },
        value: (u, v) => (v == null ? '—' : `${fmtRate(v)}/s`),
      }));
      plot = new window.uPlot({
        width: width(),
        height: height(),
        series,
        tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [
          { label: 'Time (UTC)', stroke: '#4b5563', grid: { stroke: '#eef0f3' }, space: 90,
            values: (u, splits) => splits.map((t) => {
              const iso = new Date(t * 1000).toISOString();
              return iso.slice(17, 19) === '00' ? iso.slice(11, 16) : iso.slice(11, 19);
            }) },
          { label: 'Events delivered / s', stroke: '#4b5563', grid: { stroke: '#eef0f3' }, size: 60 },
        ],
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      }, data, box);
      if (!resizeObs && 'ResizeObserver' in window) {
        resizeObs = new ResizeObserver(() => { if (plot) plot.setSize({ width: width(), height: height() }); });
        resizeObs.observe(box);
      }
    }

    function update(flows, vendors) {
      const list = (flows && Array.isArray(flows.vendors)) ? flows.vendors : [];
      // A union timeline, so vendors whose series start at different seconds line up.
      const times = new Set();
      for (const v of list) for (const t of (v.t || [])) times.add(t);
      const xs = [...times].sort((a, b) => a - b);
      const index = new Map(xs.map((t, i) => [t, i]));
      const names = list.map((v) => v.name);
      const ys = list.map((v) => {
        const col = new Array(xs.length).fill(null);
        (v.t || []).forEach((t, i) => { col[index.get(t)] = v.delivered ? v.delivered[i] ?? null : null; });
        return col;
      });
      const data = [xs, ...ys];
      const newKey = names.join('\u0000');
      if (newKey !== key || !plot) {
        key = newKey;
        build(names, data);
      } else {
        plot.setData(data);
      }
      // Text readout: per vendor, events delivered and accepted in the window and the latest second.
      clear(readout);
      const byName = new Map((vendors || []).map((v) => [v.name, v]));
      list.forEach((v, i) => {
        const sum = (arr) => (arr || []).reduce((a, b) => a + (Number(b) || 0), 0);
        const delivered = sum(v.delivered);
        const accepted = sum(v.accepted);
        const info = byName.get(v.name);
        const windowS = (v.t || []).length * (flows.interval_s || 1);
        readout.appendChild(el('li', { 'data-vendor': v.name },
            el('span', { class: `swatch swatch-${i % SERIES_COLORS.length}${i % 2 === 1 ? ' swatch-dashed' : ''}`, 'aria-hidden': 'true' }),
            el('strong', { text: v.name }),
            `: ${fmtInt(delivered)} delivered, ${fmtInt(accepted)} accepted in the last ${fmtAge(windowS)}`,
            info ? ` · now ${fmtRate(info.delivered_per_s)}/s out` : ''));
      });
      if (!list.length) readout.appendChild(el('li', { class: 'muted', text: 'No flow data yet.' }));
    }

    return {
      update,
      destroy() {
        if (resizeObs) resizeObs.disconnect();
        if (plot) plot.destroy();
        plot = null;
      },
    };
  }

  // The kill-switch dialog: typing the vendor's name enables the confirm button.
  function openCutDialog(name, after) {
    const dialog = $('cut-dialog');
    const input = $('cut-confirm-input');
    const confirm = $('cut-confirm');
    const error = $('cut-error');
    $('cut-vendor-title').textContent = name;
    $('cut-vendor-name').textContent = name;
    confirm.textContent = `Cut ${name}`;
    input.value = '';
    error.textContent = '';
    confirm.disabled = true;
    input.oninput = null;
    const sync = () => { confirm.disabled = input.value !== name; };
    input.addEventListener('input', sync);
    const cancel = () => dialog.close('cancel');
    $('cut-cancel').addEventListener('click', cancel);
    const form = $('cut-form');
    const onSubmit = async (ev) => {
      ev.preventDefault();
      if (input.value !== name) return;
      confirm.disabled = true;
      confirm.textContent = 'Cutting…';
      try {
        const res = await api('POST', `/api/v1/vendors/${encodeURIComponent(name)}/cut`, { confirm: name });
        // Refresh before closing, so focus goes back to a control that still exists.
        if (after) await after().catch(reportError);
        dialog.close('done');
        announce(`${res.vendor || name} is cut off: nothing more is sent to it; ${fmtInt(res.discarded)} queued events discarded.`);
      } catch (e) {
        if (e.status === 401) { dialog.close('cancel'); return; }
        error.textContent = e.status === 403 ? forbiddenText(e) : e.message;
        confirm.textContent = `Cut ${name}`;
        sync();
      }
    };
    form.addEventListener('submit', onSubmit);
    const opener = document.activeElement;
    dialog.addEventListener('close', () => {
      input.removeEventListener('input', sync);
      $('cut-cancel').removeEventListener('click', cancel);
      form.removeEventListener('submit', onSubmit);
      restoreFocus(opener);
    }, { once: true });
    dialog.showModal();
    input.focus();
  }

  // Back to the control that opened a dialog, or (when it is gone, e.g. a cut vendor's buttons) the page heading.
  function restoreFocus(opener) {
    if (opener && opener.isConnected && !opener.disabled) opener.focus();
    else $('view').querySelector('h1')?.focus();
  }

  // A generic "are you sure" dialog; resolves true on OK.
  function confirmDialog(title, text, okLabel) {
    return new Promise((resolve) => {
      const dialog = $('confirm-dialog');
      $('confirm-title').textContent = title;
      $('confirm-text').textContent = text;
      $('confirm-ok').textContent = okLabel;
      const form = $('confirm-form');
      const cancelBtn = $('confirm-cancel');
      const opener = document.activeElement;
      const onSubmit = (ev) => { ev.preventDefault(); dialog.close('ok'); };
      const onCancel = () => dialog.close('cancel');
      form.addEventListener('submit', onSubmit);
      cancelBtn.addEventListener('click', onCancel);
      dialog.addEventListener('close', () => {
        form.removeEventListener('submit', onSubmit);
        cancelBtn.removeEventListener('click', onCancel);
        restoreFocus(opener);
        resolve(dialog.returnValue === 'ok');
      }, { once: true });
      dialog.returnValue = '';
      dialog.showModal();
      cancelBtn.focus();
    });
  }

  // --- categories ----------------------------------------------------------------------------------------

  let categoryDays = 1;
  function renderCategories(view) {
    const group = el('div', { class: 'segmented', role: 'group', 'aria-label': 'Time window' });
    const buttons = [1, 30].map((days) => el('button', {
      type: 'button', class: 'btn', 'aria-pressed': String(days === categoryDays), 'data-days': String(days),
      text: days === 1 ? 'Last day' : 'Last 30 days',
      on: { click: () => { categoryDays = days; sync(); load(); } },
    }));
    append(group, buttons);
    const sync = () => buttons.forEach((b) => b.setAttribute('aria-pressed', String(Number(b.dataset.days) === categoryDays)));
    view.appendChild(pageHeader('Data categories',
        el('p', { class: 'muted', text: 'Which kinds of personal data each vendor received, and how much.' }), group));
    const alerts = el('div', { class: 'alerts', id: 'category-alerts' });
    const body = el('div', { 'aria-live': 'polite', 'aria-busy': 'false' });
    view.appendChild(alerts);
    view.appendChild(body);

    let seq = 0;
    async function load() {
      const mine = ++seq;
      body.setAttribute('aria-busy', 'true');
      try {
        const data = await api('GET', `/api/v1/categories?days=${categoryDays}`);
        if (mine !== seq) return;
        clear(alerts);
        clear(body);
        const vendors = Array.isArray(data.vendors) ? data.vendors : [];
        for (const v of vendors) {
          const fresh = Array.isArray(v.new_categories) ? v.new_categories : [];
          if (!fresh.length) continue;
          alerts.appendChild(el('div', { class: 'banner banner-warning new-categories', role: 'alert', 'data-vendor': v.name },
              el('strong', { text: 'New data categories: ' }),
              el('span', { class: 'mono', text: v.name }),
              ` received ${fresh.join(', ')} for the first time in the ${categoryDays === 1 ? 'last day' : 'last 30 days'}.`));
        }
        body.appendChild(el('p', { class: 'muted small' }, `Since `, timeEl(data.since), '.'));
        if (!vendors.length) {
          body.appendChild(el('p', { class: 'muted', text: 'No vendor received data in this window.' }));
          return;
        }
        const tbody = el('tbody', {}, vendors.map((v) => {
          const fresh = new Set(v.new_categories || []);
          return el('tr', { 'data-vendor': v.name },
              el('th', { scope: 'row', text: v.name }),
              el('td', {}, el('ul', { class: 'chips' }, (v.categories || []).map((c) =>
                  el('li', { class: fresh.has(c) ? 'chip chip-new' : 'chip' }, c, fresh.has(c) ? el('span', { class: 'chip-flag', text: ' new' }) : null)))),
              el('td', { class: 'num', text: fmtInt(v.records) }),
              el('td', { class: 'num', text: fmtInt(v.subjects) }));
        }));
        body.appendChild(tableWrap('Categories by vendor', el('table', { class: 'data', id: 'categories-table' },
            el('caption', { class: 'sr-only', text: 'Categories by vendor' }),
            thead('Vendor', 'Categories', 'Records', 'Subjects'), tbody)));
      } catch (e) {
        if (mine === seq) reportError(e);
      } finally {
        if (mine === seq) body.setAttribute('aria-busy', 'false');
      }
    }
    load();
  }

  // --- playground ----------------------------------------------------------------------------------------

  const SAMPLE_EVENT = {
    event: 'Signed Up',
    properties: {
      distinct_id: 'user-1042',
      token: 'project-token',
      time: 1767225600,
      $insert_id: 'ins-0001',
      $current_url: 'https://app.example.com/welcome?ref=newsletter&email=jane%40example.com',
      $browser: 'Firefox',
      plan: 'pro',
      note: 'Please call Jane Doe back at jane@example.com or +1 415 555 0100',
    },
  };
  let playgroundText = pretty(SAMPLE_EVENT);
  let playgroundIp = '';

  function renderPlayground(view) {
    view.appendChild(pageHeader('Policy playground',
        el('p', { class: 'muted', text: 'Paste a Mixpanel event (or an array of them) to see exactly what each vendor would receive, and which rule did what. Nothing is sent or recorded.' })));
    const eventField = field('Event JSON', { tag: 'textarea', id: 'pg-event', rows: '14', spellcheck: 'false',
                                             class: 'mono', autocapitalize: 'off' },
                             'A Mixpanel event object, e.g. {"event": "...", "properties": {...}}, or an array of events.');
    eventField.input.value = playgroundText;
    const ipField = field('Client IP (optional)', { id: 'pg-ip', inputmode: 'decimal', autocomplete: 'off',
                                                    placeholder: 'e.g. 203.0.113.7', value: playgroundIp });
    const run = el('button', { type: 'submit', class: 'btn btn-primary', id: 'pg-run', text: 'Explain' });
    const reset = el('button', { type: 'button', class: 'btn', text: 'Load sample',
                                 on: { click: () => { eventField.input.value = pretty(SAMPLE_EVENT); eventField.input.focus(); } } });
    const error = el('p', { class: 'form-error', role: 'alert', id: 'pg-error' });
    const results = el('div', { id: 'pg-results', class: 'pg-results', 'aria-live': 'polite' });
    const form = el('form', { class: 'card', novalidate: true, 'aria-label': 'Event to explain' },
        eventField.wrap, ipField.wrap, error, el('div', { class: 'form-actions' }, run, reset));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      playgroundText = eventField.input.value;
      playgroundIp = ipField.input.value.trim();
      let event;
      try {
        event = JSON.parse(playgroundText);
      } catch (e) {
        error.textContent = `The event is not valid JSON: ${e.message}`;
        eventField.input.focus();
        return;
      }
      const body = { event };
      if (playgroundIp) body.ip = playgroundIp;
      run.disabled = true;
      results.setAttribute('aria-busy', 'true');
      try {
        const data = await api('POST', '/api/v1/explain', body);
        showExplain(results, data);
        announce(`Explained for ${(data.vendors || []).length} vendor(s).`);
      } catch (e) {
        if (e.status === 401) return;
        error.textContent = e.status === 403 ? forbiddenText(e) : e.message;
      } finally {
        run.disabled = false;
        results.setAttribute('aria-busy', 'false');
      }
    });
    view.appendChild(el('div', { class: 'playground' }, form, results));
  }

  function showExplain(box, data) {
    clear(box);
    const vendors = Array.isArray(data.vendors) ? data.vendors : [];
    if (!vendors.length) {
      box.appendChild(el('p', { class: 'muted', text: 'No vendors are configured.' }));
      return;
    }
    for (const v of vendors) {
      const hid = uid('pgv');
      const section = el('section', { class: 'card pg-vendor', 'aria-labelledby': hid, 'data-vendor': v.vendor },
          el('h2', { id: hid, text: v.vendor }),
          el('p', { class: 'muted small' }, `Policy ${v.policy ?? '—'} · pseudonym key epoch ${v.key_epoch ?? '—'}`),
          categoryLine('Categories sent', v.categories));
      (v.events || []).forEach((e, i) => {
        const blocked = e.sends === null || e.sends === undefined;
        const rules = Array.isArray(e.rules) ? e.rules : [];
        section.appendChild(el('div', { class: 'pg-event' },
            el('h3', {}, `Event ${i + 1}`, e.kind ? el('span', { class: 'muted', text: ` (${e.kind})` }) : null, ' ',
               blocked ? el('span', { class: 'badge badge-cut' }, el('span', { class: 'badge-dot', 'aria-hidden': 'true' }), 'Blocked')
                       : el('span', { class: 'badge badge-active' }, el('span', { class: 'badge-dot', 'aria-hidden': 'true' }), 'Sent')),
            blocked ? el('p', { class: 'muted', text: 'The vendor would receive nothing for this event.' })
                    : el('div', {}, el('p', { class: 'small strong', text: 'What the vendor would receive:' }),
                         el('pre', { class: 'json sends', tabindex: '0', 'aria-label': `JSON ${v.vendor} would receive` }, pretty(e.sends))),
            categoryLine('Categories', e.categories),
            rules.length
              ? tableWrap(`Rules applied for ${v.vendor}`, el('table', { class: 'data rules' },
                  el('caption', { text: 'Which rule did what' }),
                  thead('Rule', 'Property', 'Action'),
                  el('tbody', {}, rules.map((r) => el('tr', {},
                      el('td', { class: 'mono', text: r.rule ?? '—' }),
                      el('td', { class: 'mono', text: r.property ?? '—' }),
                      el('td', {}, el('span', { class: `action action-${String(r.action).replace(/[^a-z_-]/gi, '')}`, text: r.action ?? '—' })))))))
              : el('p', { class: 'muted small', text: 'No rule changed this event.' })));
      });
      box.appendChild(section);
    }
  }

  function categoryLine(label, cats) {
    const list = Array.isArray(cats) ? cats : [];
    return el('p', { class: 'small' }, el('span', { class: 'strong', text: `${label}: ` }),
        list.length ? el('span', { class: 'chips-inline' }, list.map((c) => el('span', { class: 'chip', text: c })))
                    : el('span', { class: 'muted', text: 'none' }));
  }

  // --- incidents -----------------------------------------------------------------------------------------

  function renderIncidents(view, args) {
    if (args[0]) return renderIncident(view, args[0]);
    view.appendChild(pageHeader('Incidents',
        el('p', { class: 'muted', text: 'Vendor breaches under investigation: who was affected, and how far the notices have got.' })));
    const body = el('div', { 'aria-live': 'polite' }, el('p', { class: 'muted', text: 'Loading…' }));
    view.appendChild(body);
    poll(async () => {
      const data = await api('GET', '/api/v1/incidents');
      const list = Array.isArray(data.incidents) ? data.incidents : [];
      clear(body);
      if (!list.length) {
        body.appendChild(el('div', { class: 'empty card' }, el('p', { text: 'No incidents. ' }),
            el('p', { class: 'muted small', text: 'Incidents are opened with the vendorguard incident command when a vendor reports a breach.' })));
        return;
      }
      body.appendChild(tableWrap('Incidents', el('table', { class: 'data', id: 'incidents-table' },
          el('caption', { class: 'sr-only', text: 'Incidents' }),
          thead('Incident', 'Vendor', 'Window', 'Opened', 'Subjects', 'Notices'),
          el('tbody', {}, list.map((i) => el('tr', { 'data-incident': i.id },
              el('th', { scope: 'row' }, el('a', { href: `#/incidents/${encodeURIComponent(i.id)}`, text: i.id })),
              el('td', { text: i.vendor }),
              el('td', { class: 'small' }, timeEl(i.from), ' – ', timeEl(i.to)),
              el('td', { class: 'small' }, timeEl(i.opened_at)),
              el('td', { class: 'num', text: fmtInt(i.subjects) }),
              el('td', {}, noticeProgress(i.notices_sent, i.notices_total))))))));
    }, 10000);
  }

  function noticeProgress(sent, total) {
    if (typeof total !== 'number' || total <= 0) return el('span', { class: 'muted', text: 'not started' });
    const label = `${fmtInt(sent ?? 0)} of ${fmtInt(total)} sent`;
    return el('div', { class: 'progress-line' },
        el('progress', { max: String(total), value: String(sent ?? 0), 'aria-label': `Notices: ${label}` }),
        el('span', { class: 'small', text: label }));
  }

  function renderIncident(view, id) {
    view.appendChild(el('p', { class: 'breadcrumb' }, el('a', { href: '#/incidents', text: '← All incidents' })));
    view.appendChild(pageHeader(`Incident ${id}`));
    const body = el('div', { id: 'incident-detail' }, el('p', { class: 'muted', text: 'Loading…' }));
    view.appendChild(body);
    let stop = null;
    stop = poll(async () => {
      let d;
      try {
        d = await api('GET', `/api/v1/incidents/${encodeURIComponent(id)}`);
      } catch (e) {
        if (e.status === 404) {
          clear(body).appendChild(el('p', { class: 'banner banner-error', role: 'alert', text: `No incident ${id}: ${e.message}` }));
          stop();
          return;
        }
        throw e;
      }
      clear(body);
      body.appendChild(el('section', { class: 'card' },
          el('h2', { text: 'Overview' }),
          el('dl', { class: 'facts' },
              el('dt', { text: 'Vendor' }), el('dd', { text: d.vendor }),
              el('dt', { text: 'Breach window' }), el('dd', {}, timeEl(d.from), ' until ', timeEl(d.to)),
              el('dt', { text: 'Opened' }), el('dd', {}, timeEl(d.opened_at)))));
      const a = d.assessment;
      body.appendChild(el('section', { class: 'card', id: 'blast-radius' },
          el('h2', { text: 'Blast radius' }),
          a ? [el('div', { class: 'stats' },
                  stat('People affected', fmtInt(a.subjects)), stat('Records disclosed', fmtInt(a.records))),
               (a.categories || []).length
                 ? tableWrap('Affected people by category', el('table', { class: 'data' },
                     el('caption', { text: 'Affected people by data category' }),
                     thead('Category', 'People'),
                     el('tbody', {}, a.categories.map((c) => el('tr', {},
                         el('th', { scope: 'row', text: c.category }), el('td', { class: 'num', text: fmtInt(c.subjects) }))))))
                 : null]
            : el('p', { class: 'muted', text: 'Not assessed yet.' })));
      const m = d.leak_match;
      body.appendChild(el('section', { class: 'card', id: 'leak-match' },
          el('h2', { text: 'Leak match' }),
          m ? el('div', { class: 'stats' }, stat('Rows in the leaked file', fmtInt(m.rows)),
                 stat('Matched to our disclosures', fmtInt(m.matched)), stat('Not from us', fmtInt(m.unmatched)))
            : el('p', { class: 'muted', text: 'No leaked data has been matched against the ledger.' })));
      const c = d.campaign;
      let pending = false;
      if (c) {
        const done = (c.sent || 0) + (c.failed || 0);
        pending = (c.pending || 0) > 0;
        body.appendChild(el('section', { class: 'card', id: 'campaign' },
            el('h2', { text: 'Notice campaign' }),
            el('div', { class: 'progress-line big' },
                el('progress', { id: 'campaign-progress', max: String(Math.max(1, c.total || 0)), value: String(done),
                                 'aria-label': `Notices processed: ${fmtInt(done)} of ${fmtInt(c.total)}` }),
                el('span', { text: `${fmtInt(done)} of ${fmtInt(c.total)}` })),
            el('div', { class: 'stats' }, stat('Sent', fmtInt(c.sent)), stat('Failed', fmtInt(c.failed)),
               stat('Pending', fmtInt(c.pending)))));
      } else {
        body.appendChild(el('section', { class: 'card', id: 'campaign' }, el('h2', { text: 'Notice campaign' }),
            el('p', { class: 'muted', text: 'No notices have been sent for this incident.' })));
      }
      if (!pending) stop();
    }, 3000);
  }

  function stat(label, value) {
    return el('div', { class: 'stat' }, el('div', { class: 'stat-value', text: value }), el('div', { class: 'stat-label', text: label }));
  }

  // --- ledger --------------------------------------------------------------------------------------------

  function renderLedger(view) {
    view.appendChild(pageHeader('Ledger',
        el('p', { class: 'muted', text: 'The tamper-evident record of every disclosure: verify it, and look up who got what.' })));

    // Verification.
    const verifyBox = el('div', { id: 'verify-status', 'aria-live': 'polite' });
    const verifyBtn = can('operator')
      ? el('button', { type: 'button', class: 'btn btn-primary', id: 'verify-now', text: 'Verify now' })
      : null;
    view.appendChild(el('section', { class: 'card', 'aria-labelledby': 'verify-h' },
        el('div', { class: 'card-head' }, el('h2', { id: 'verify-h', text: 'Integrity verification' }), verifyBtn),
        verifyBox));
    let stopPoll = null;
    function showVerify(s) {
      clear(verifyBox);
      const facts = el('dl', { class: 'facts' },
          el('dt', { text: 'Status' }), el('dd', { id: 'verify-state' }, badge(s.state)),
          el('dt', { text: 'Started' }), el('dd', {}, timeEl(s.started_at)),
          el('dt', { text: 'Finished' }), el('dd', {}, timeEl(s.finished_at)),
          el('dt', { text: 'Records checked' }), el('dd', { text: fmtInt(s.records) }),
          el('dt', { text: 'Signed heads' }), el('dd', { text: fmtInt(s.heads) }));
      verifyBox.appendChild(facts);
      if (s.state === 'running') {
        const p = typeof s.progress === 'number' ? s.progress : 0;
        verifyBox.appendChild(el('div', { class: 'progress-line' },
            el('progress', { max: '1', value: String(p), 'aria-label': 'Verification progress' }),
            el('span', { text: `${Math.round(p * 100)} %` })));
      }
      if (s.state === 'failed') {
        verifyBox.appendChild(el('div', { class: 'banner banner-error', role: 'alert' },
            el('strong', { text: 'The ledger failed verification: ' }), s.problem || 'unknown problem'));
      } else if (s.problem) {
        verifyBox.appendChild(el('p', { class: 'error-text', text: s.problem }));
      }
      if (verifyBtn) verifyBtn.disabled = s.state === 'running';
    }
    // afterStart: just asked for a run, so keep polling a few times even if it does not show as running yet.
    function pollVerify(afterStart = false) {
      if (stopPoll) stopPoll();
      let seenRunning = false;
      let grace = afterStart ? 5 : 0;
      const since = Date.now() - 5000;  // a run that finished after this is the one just asked for
      let stopThis = null;
      let stale = false;
      stopThis = poll(async () => {
        const s = await api('GET', '/api/v1/ledger/verify');
        if (stale) return;  // a newer poll owns the display
        showVerify(s);
        const finishedNow = afterStart && s.finished_at && new Date(s.finished_at).getTime() >= since;
        if (s.state === 'running') seenRunning = true;
        else if (!seenRunning && !finishedNow && grace-- > 0) {
          /* not started yet */
        } else {
          if (seenRunning || finishedNow) announce(s.state === 'ok' ? 'Ledger verified: no problems found.' : `Ledger verification ${s.state}.`);
          stopThis();
        }
      }, 1000);
      stopPoll = () => { stale = true; stopThis(); };
    }
    if (verifyBtn) {
      verifyBtn.addEventListener('click', async () => {
        verifyBtn.disabled = true;
        try {
          await api('POST', '/api/v1/ledger/verify');
          announce('Ledger verification started.');
          pollVerify(true);
        } catch (e) {
          reportError(e);
          verifyBtn.disabled = false;
        }
      });
    }
    pollVerify();

    // Subject lookup.
    const subj = field('Subject', { id: 'subject-input', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', required: true },
                       'The user ID your apps send (distinct_id), as it was before pseudonymization.');
    const subjResult = el('div', { id: 'subject-result', 'aria-live': 'polite' });
    const subjForm = el('form', { class: 'inline-form', novalidate: true, 'aria-label': 'Subject lookup' },
        subj.wrap, el('button', { type: 'submit', class: 'btn btn-primary', text: 'Look up' }));
    subjForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const s = subj.input.value.trim();
      if (!s) { subj.input.focus(); return; }
      clear(subjResult).appendChild(el('p', { class: 'muted', text: 'Looking up…' }));
      try {
        const d = await api('GET', `/api/v1/ledger/subject?subject=${encodeURIComponent(s)}`);
        clear(subjResult);
        if (!d.found) {
          subjResult.appendChild(el('p', { text: `No vendor received data about ${d.subject ?? s}.` }));
          return;
        }
        subjResult.appendChild(el('p', {}, `Vendors that received data about `, el('strong', { text: d.subject ?? s }),
            d.erased ? el('span', { class: 'badge badge-unknown', text: 'erased' }) : null, ':'));
        subjResult.appendChild(tableWrap('Vendors that received data about this subject', el('table', { class: 'data' },
            el('caption', { class: 'sr-only', text: 'Vendors that received data about this subject' }),
            thead('Vendor', 'Purpose', 'Legal basis', 'Country', 'Categories', 'First', 'Last', 'Delivered', 'Dead-lettered', 'Cut'),
            el('tbody', {}, (d.vendors || []).map((v) => el('tr', {},
                el('th', { scope: 'row', text: v.vendor }), el('td', { text: v.purpose ?? '—' }),
                el('td', { text: v.legal_basis ?? '—' }), el('td', { text: v.destination_country ?? '—' }),
                el('td', {}, chips(v.categories)), el('td', { class: 'small' }, timeEl(v.first)),
                el('td', { class: 'small' }, timeEl(v.last)), el('td', { class: 'num', text: fmtInt(v.counts?.delivered) }),
                el('td', { class: 'num', text: fmtInt(v.counts?.dead_lettered) }), el('td', { class: 'num', text: fmtInt(v.counts?.cut) })))))));
      } catch (e) {
        clear(subjResult);
        reportError(e);
      }
    });

    // Who lookup.
    // Whole minutes (the inputs' precision): from 30 days ago to the end of the current minute.
    const now = new Date(Math.ceil((Date.now() + 1) / 60e3) * 60e3);
    const monthAgo = new Date(now.getTime() - 30 * 86400e3);
    const local = (d) => d.toISOString().slice(0, 16);
    const vendorList = uid('vendors-list');
    const who = field('Vendor', { id: 'who-vendor', autocomplete: 'off', list: vendorList, required: true, autocapitalize: 'off' });
    const datalist = el('datalist', { id: vendorList });
    api('GET', '/api/v1/vendors').then((d) => {
      for (const v of d.vendors || []) datalist.appendChild(el('option', { value: v.name }));
    }).catch(() => {});
    const from = field('From (UTC)', { id: 'who-from', type: 'datetime-local', value: local(monthAgo) });
    const to = field('To (UTC)', { id: 'who-to', type: 'datetime-local', value: local(now) });
    const limit = field('At most', { id: 'who-limit', type: 'number', min: '1', max: '10000', value: '100', inputmode: 'numeric' });
    const whoResult = el('div', { id: 'who-result', 'aria-live': 'polite' });
    const whoForm = el('form', { class: 'inline-form', novalidate: true, 'aria-label': 'Vendor recipients lookup' },
        who.wrap, datalist, from.wrap, to.wrap, limit.wrap, el('button', { type: 'submit', class: 'btn btn-primary', text: 'Look up' }));
    const iso = (v) => (v ? `${v.length === 16 ? `${v}:00` : v}Z` : '');
    whoForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const vendor = who.input.value.trim();
      if (!vendor) { who.input.focus(); return; }
      const q = new URLSearchParams({ vendor, limit: limit.input.value || '100' });
      if (from.input.value) q.set('from', iso(from.input.value));
      if (to.input.value) q.set('to', iso(to.input.value));
      clear(whoResult).appendChild(el('p', { class: 'muted', text: 'Looking up…' }));
      try {
        const d = await api('GET', `/api/v1/ledger/who?${q}`);
        clear(whoResult);
        whoResult.appendChild(el('p', {}, el('strong', { text: d.vendor ?? vendor }),
            ` received data about ${fmtInt(d.count)} ${d.count === 1 ? 'person' : 'people'} between `, timeEl(d.from),
            ' and ', timeEl(d.to), d.truncated ? ` (showing the first ${fmtInt((d.subjects || []).length)})` : '', '.'));
        if ((d.subjects || []).length) {
          whoResult.appendChild(tableWrap('Subjects', el('table', { class: 'data' },
              el('caption', { class: 'sr-only', text: 'Subjects this vendor received data about' }),
              thead('Subject', 'Categories', 'First', 'Last', 'Delivered', 'Dead-lettered', 'Cut'),
              el('tbody', {}, d.subjects.map((s) => el('tr', {},
                  el('th', { scope: 'row' }, s.subject, s.erased ? el('span', { class: 'badge badge-unknown', text: 'erased' }) : null),
                  el('td', {}, chips(s.categories)), el('td', { class: 'small' }, timeEl(s.first)),
                  el('td', { class: 'small' }, timeEl(s.last)), el('td', { class: 'num', text: fmtInt(s.counts?.delivered) }),
                  el('td', { class: 'num', text: fmtInt(s.counts?.dead_lettered) }), el('td', { class: 'num', text: fmtInt(s.counts?.cut) })))))));
        }
      } catch (e) {
        clear(whoResult);
        reportError(e);
      }
    });

    view.appendChild(el('div', { class: 'lookups' },
        el('section', { class: 'card', 'aria-labelledby': 'subject-h' },
            el('h2', { id: 'subject-h', text: 'Which vendors got data about this person?' }), subjForm, subjResult),
        el('section', { class: 'card', 'aria-labelledby': 'who-h' },
            el('h2', { id: 'who-h', text: 'Who did this vendor get data about?' }), whoForm, whoResult)));
  }

  function chips(list) {
    return el('ul', { class: 'chips' }, (Array.isArray(list) ? list : []).map((c) => el('li', { class: 'chip', text: c })));
  }

  // --- audit log -----------------------------------------------------------------------------------------

  function renderAudit(view) {
    const filter = field('Filter', { id: 'audit-filter', type: 'search', autocomplete: 'off', placeholder: 'actor, action, vendor…' });
    const refreshBtn = el('button', { type: 'button', class: 'btn', text: 'Refresh' });
    view.appendChild(pageHeader('Audit log',
        el('p', { class: 'muted', text: 'Sign-ins, failed sign-ins, pauses, cuts and account changes; newest first.' }),
        el('div', { class: 'toolbar' }, filter.wrap, refreshBtn)));
    const count = el('p', { class: 'muted small', 'aria-live': 'polite' });
    const tbody = el('tbody');
    view.appendChild(count);
    view.appendChild(tableWrap('Audit log', el('table', { class: 'data', id: 'audit-table' },
        el('caption', { class: 'sr-only', text: 'Audit log' }), thead('Time', 'Actor', 'Action', 'Vendor', 'Detail'), tbody)));
    let entries = [];
    function show() {
      const q = filter.input.value.trim().toLowerCase();
      const rows = entries.filter((e) => !q || [e.actor, e.action, e.vendor, typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail)]
          .some((f) => String(f ?? '').toLowerCase().includes(q)));
      clear(tbody);
      for (const e of rows) {
        const failed = /fail|denied|locked/i.test(String(e.action));
        tbody.appendChild(el('tr', { class: failed ? 'row-warn' : null },
            el('td', { class: 'small nowrap' }, timeEl(e.time)),
            el('td', { text: e.actor ?? '—' }),
            el('td', {}, el('span', { class: 'mono', text: e.action ?? '—' })),
            el('td', { text: e.vendor ?? '—' }),
            el('td', { class: 'detail', text: e.detail == null ? '' : (typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail)) })));
      }
      count.textContent = q ? `${rows.length} of ${entries.length} entries match.` : `${entries.length} most recent entries.`;
    }
    async function load() {
      const d = await api('GET', '/api/v1/audit?limit=200');
      entries = Array.isArray(d.entries) ? d.entries : [];
      show();
    }
    filter.input.addEventListener('input', show);
    refreshBtn.addEventListener('click', () => load().then(() => announce('Audit log refreshed.')).catch(reportError));
    poll(load, 15000);
  }

  // --- users (admin) -------------------------------------------------------------------------------------

  function renderUsers(view) {
    view.appendChild(pageHeader('Users',
        el('p', { class: 'muted', text: 'Console accounts. Every account signs in with a password and an authenticator code.' })));
    const enrollment = el('div', { id: 'enrollment' });
    const tbody = el('tbody');
    view.appendChild(enrollment);
    view.appendChild(tableWrap('Users', el('table', { class: 'data', id: 'users-table' },
        el('caption', { class: 'sr-only', text: 'Users' }),
        thead('User', 'Role', 'Created', 'Last sign-in', 'Locked', 'Recovery codes', 'Actions'), tbody)));

    async function load() {
      const d = await api('GET', '/api/v1/users');
      clear(tbody);
      for (const u of d.users || []) {
        const self = session && u.name === session.user;
        tbody.appendChild(el('tr', { 'data-user': u.name },
            el('th', { scope: 'row' }, u.name, self ? el('span', { class: 'muted small', text: ' (you)' }) : null),
            el('td', {}, el('span', { class: `role role-${String(u.role).replace(/[^a-z]/gi, '')}`, text: u.role })),
            el('td', { class: 'small' }, timeEl(u.created)),
            el('td', { class: 'small' }, timeEl(u.last_login)),
            el('td', { class: 'small' }, u.locked_until && new Date(u.locked_until) > new Date()
                ? [el('span', { class: 'badge badge-paused' }, el('span', { class: 'badge-dot', 'aria-hidden': 'true' }), 'Locked'),
                   el('span', { class: 'sub block' }, 'until ', timeEl(u.locked_until))]
                : el('span', { class: 'muted', text: 'no' })),
            el('td', { class: 'num', text: fmtInt(u.recovery_codes_left) }),
            el('td', {}, el('div', { class: 'actions' },
                el('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Reset two-factor for ${u.name}`,
                               on: { click: () => resetMfa(u.name) } }, 'Reset 2FA'),
                self ? null : el('button', { type: 'button', class: 'btn btn-small btn-danger-outline', 'aria-label': `Delete ${u.name}`,
                                             on: { click: () => removeUser(u.name) } }, 'Delete')))));
      }
    }

    async function resetMfa(name) {
      if (!await confirmDialog(`Reset two-factor for ${name}?`,
          `${name}'s authenticator and recovery codes stop working at once. You will get a new QR code to hand over securely.`,
          'Reset two-factor')) return;
      try {
        const d = await api('POST', `/api/v1/users/${encodeURIComponent(name)}/reset-mfa`);
        showEnrollment(enrollment, d, `Two-factor reset for ${d.user || name}`);
        await load();
      } catch (e) { reportError(e); }
    }
    async function removeUser(name) {
      if (!await confirmDialog(`Delete ${name}?`, `${name} is signed out and can no longer sign in.`, `Delete ${name}`)) return;
      try {
        await api('DELETE', `/api/v1/users/${encodeURIComponent(name)}`);
        announce(`Deleted ${name}.`);
        await load();
      } catch (e) { reportError(e); }
    }

    const name = field('User name', { id: 'new-user', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', required: true });
    const role = field('Role', { id: 'new-role', tag: 'select' });
    for (const r of ['viewer', 'operator', 'admin']) role.input.appendChild(el('option', { value: r, text: r, selected: r === 'viewer' }));
    const password = field('Initial password', { id: 'new-password', type: 'password', autocomplete: 'new-password', required: true, minlength: '12' },
                           'At least 12 characters.');
    const error = el('p', { class: 'form-error', role: 'alert' });
    const form = el('form', { class: 'inline-form', novalidate: true, 'aria-labelledby': 'add-user-h' },
        name.wrap, role.wrap, password.wrap, el('button', { type: 'submit', class: 'btn btn-primary', text: 'Add user' }));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      const body = { name: name.input.value.trim(), role: role.input.value, password: password.input.value };
      if (!body.name || !body.password) { error.textContent = 'Enter a user name and a password.'; return; }
      try {
        const d = await api('POST', '/api/v1/users', body);
        form.reset();
        showEnrollment(enrollment, d, `Account ${d.user || body.name} created`);
        await load();
      } catch (e) {
        if (e.status === 401) return;
        error.textContent = e.status === 403 ? forbiddenText(e) : e.message;
      }
    });
    view.appendChild(el('section', { class: 'card', 'aria-labelledby': 'add-user-h' },
        el('h2', { id: 'add-user-h', text: 'Add a user' }), form, error));
    poll(load, 30000);
  }

  // The one-time enrollment secrets: QR code, otpauth URI, secret and recovery codes.
  function showEnrollment(box, d, title) {
    clear(box);
    let qr = null;
    if (typeof d.qr_svg === 'string' && d.qr_svg.trim().startsWith('<')) {
      const bytes = new TextEncoder().encode(d.qr_svg);
      let bin = '';
      for (const b of bytes) bin += String.fromCharCode(b);
      qr = el('img', { class: 'qr', src: `data:image/svg+xml;base64,${btoa(bin)}`, width: '200', height: '200',
                       alt: 'QR code to scan with an authenticator app' });
    }
    const hid = uid('enr');
    box.appendChild(el('section', { class: 'card enrollment', 'aria-labelledby': hid, tabindex: '-1' },
        el('h2', { id: hid, text: title }),
        el('div', { class: 'banner banner-warning', role: 'alert' },
            el('strong', { text: 'Shown only once. ' }),
            'Hand these to the user over a secure channel now: the QR code (or secret) for their authenticator app, and the recovery codes. They cannot be displayed again.'),
        el('div', { class: 'enroll-grid' },
            qr,
            el('div', {},
                el('p', { class: 'strong', text: 'Authenticator URI' }), el('pre', { class: 'json wrap', tabindex: '0', text: d.otpauth_uri ?? '' }),
                el('p', { class: 'strong', text: 'Secret (manual entry)' }), el('pre', { class: 'json', tabindex: '0', text: d.totp_secret ?? '' }),
                el('p', { class: 'strong', text: 'Recovery codes (each works once)' }),
                el('ol', { class: 'codes mono' }, (d.recovery_codes || []).map((c) => el('li', { text: c }))))),
        el('button', { type: 'button', class: 'btn', text: 'I have handed these over — hide',
                       on: { click: () => { clear(box); announce('Enrollment secrets hidden.'); } } })));
    box.firstChild.focus();
  }

  // --- start ---------------------------------------------------------------------------------------------

  async function start() {
    $('logout').addEventListener('click', async () => {
      try { await api('POST', '/api/v1/logout', undefined, { allow401: true }); } catch { /* signed out anyway */ }
      setSession(null);
      loginNotice = 'You have signed out.';
      render();
    });
    window.addEventListener('hashchange', () => render());
    try {
      const s = await api('GET', '/api/v1/session', undefined, { allow401: true });
      setSession(s && s.user ? s : null);
    } catch (e) {
      setSession(null);
      if (e.status !== 401) loginNotice = e.message;
    }
    render();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
