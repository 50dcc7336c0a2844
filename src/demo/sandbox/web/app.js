// The sandbox page's script (served by src/sandbox/web.ts). Plain browser JavaScript, no build step.
// Every piece of text on this page may come from a CloudTrail record: it is only ever set with textContent or as an
// attribute value, never parsed as HTML, and links are only followed when they are http(s).
/* global document, window, EventSource */
'use strict';

const state = { messages: new Map(), pushes: new Map(), incidents: new Map(), reviews: new Map(), info: null };

// ---- tiny DOM helpers ----

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, String(v));
    else if (k === 'onclick') node.addEventListener('click', v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof window.Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function safeHref(url) {
  return typeof url === 'string' && /^https?:\/\//i.test(url) ? url : null;
}

function link(url, label, cls) {
  const href = safeHref(url);
  if (!href) return el('span', { class: `${cls || ''} missing` }, label, ' (no link)');
  return el('a', { href, target: '_blank', rel: 'noopener noreferrer', class: cls }, label);
}

function time(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso || '') : d.toLocaleTimeString();
}

// ---- Slack mrkdwn → DOM (links, dates, *bold*, _italic_, ~strike~, `code`) ----

function unescapeMrkdwn(text) {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Plain text, with bare http(s) URLs made links (as Slack does). */
function plain(text) {
  const out = [];
  const re = /https?:\/\/[^\s<>]+/g;
  let last = 0;
  let m;
  while ((m = re.exec(text)) !== null) {
    if (m.index > last) out.push(unescapeMrkdwn(text.slice(last, m.index)));
    out.push(link(unescapeMrkdwn(m[0]), unescapeMrkdwn(m[0])));
    last = re.lastIndex;
  }
  if (last < text.length) out.push(unescapeMrkdwn(text.slice(last)));
  return out;
}

function mrkdwn(text, depth = 0) {
  const out = [];
  const re = /<([^<>\n]+)>|`([^`\n]+)`|\*([^*\n]+)\*|_([^_\n]+)_|~([^~\n]+)~/g;
  let last = 0;
  let m;
  while ((m = re.exec(text)) !== null) {
    if (m.index > last) out.push(plain(text.slice(last, m.index)));
    if (m[1] !== undefined) out.push(token(m[1]));
    else if (m[2] !== undefined) out.push(el('code', {}, unescapeMrkdwn(m[2])));
    else if (depth > 3) out.push(unescapeMrkdwn(m[0]));
    else if (m[3] !== undefined) out.push(el('strong', {}, mrkdwn(m[3], depth + 1)));
    else if (m[4] !== undefined) out.push(el('em', {}, mrkdwn(m[4], depth + 1)));
    else out.push(el('s', {}, mrkdwn(m[5], depth + 1)));
    last = re.lastIndex;
  }
  if (last < text.length) out.push(plain(text.slice(last)));
  return out;
}

/** `<url|label>`, `<!date^…|fallback>`, `<@U123>`, `<#C123>`, `<!here>`. */
function token(body) {
  const bar = body.indexOf('|');
  const target = bar >= 0 ? body.slice(0, bar) : body;
  const label = bar >= 0 ? body.slice(bar + 1) : null;
  if (target.startsWith('!date^')) return el('time', {}, unescapeMrkdwn(label || target));
  if (target.startsWith('@') || target.startsWith('#')) return el('span', { class: 'mention' }, target + (label ? ` ${unescapeMrkdwn(label)}` : ''));
  if (target.startsWith('!')) return el('span', { class: 'mention' }, `@${target.slice(1)}`);
  const href = unescapeMrkdwn(target);
  return link(href, unescapeMrkdwn(label || target));
}

function textObject(t) {
  if (!t || typeof t.text !== 'string') return [];
  return t.type === 'mrkdwn' ? mrkdwn(t.text) : [t.text];
}

// ---- Block Kit → DOM ----

function renderBlocks(view) {
  const box = el('div', { class: 'blocks' });
  for (const b of view.blocks) {
    if (!b || typeof b !== 'object') continue;
    if (b.type === 'header') box.append(el('h3', { class: 'bk-header' }, textObject(b.text)));
    else if (b.type === 'section') {
      const s = el('div', { class: 'bk-section' });
      if (b.text) s.append(el('div', { class: 'bk-text' }, textObject(b.text)));
      if (Array.isArray(b.fields)) s.append(el('div', { class: 'bk-fields' }, b.fields.map((f) => el('div', {}, textObject(f)))));
      if (b.accessory && b.accessory.type === 'button') s.append(renderButton(view, b.accessory));
      box.append(s);
    } else if (b.type === 'context') {
      box.append(el('div', { class: 'bk-context' }, (b.elements || []).map((e) => el('span', {}, textObject(e)))));
    } else if (b.type === 'actions') {
      box.append(el('div', { class: 'bk-actions' }, (b.elements || []).filter((e) => e.type === 'button').map((e) => renderButton(view, e))));
    } else if (b.type === 'divider') box.append(el('hr'));
  }
  if (view.blocks.length === 0) box.append(el('div', { class: 'bk-text' }, mrkdwn(view.text)));
  return box;
}

function renderButton(view, button) {
  const label = button.text && button.text.text ? button.text.text : button.action_id;
  return el(
    'button',
    {
      type: 'button',
      class: `btn slack-btn ${button.style || ''}`,
      'data-action-id': button.action_id,
      onclick: (ev) => onSlackButton(ev.currentTarget, view, button),
    },
    label,
  );
}

async function onSlackButton(node, view, button) {
  if (button.confirm && !(await confirmDialog(button.confirm))) return;
  const card = node.closest('.msg');
  for (const b of card.querySelectorAll('.slack-btn')) b.disabled = true;
  try {
    const res = await post('/api/slack/click', { channel: view.channel, ts: view.ts, actionId: button.action_id });
    if (!res.ok && res.error) window.alert(res.error);
  } finally {
    // The message re-renders when vouch updates it; until then the buttons come back.
    for (const b of card.querySelectorAll('.slack-btn')) b.disabled = false;
  }
}

function confirmDialog(c) {
  const dialog = document.getElementById('confirm-dialog');
  document.getElementById('confirm-title').textContent = (c.title && c.title.text) || 'Are you sure?';
  document.getElementById('confirm-text').textContent = (c.text && c.text.text) || '';
  const ok = document.getElementById('confirm-ok');
  const deny = document.getElementById('confirm-deny');
  ok.textContent = (c.confirm && c.confirm.text) || 'OK';
  deny.textContent = (c.deny && c.deny.text) || 'Cancel';
  ok.className = `btn ${c.style || 'primary'}`;
  return new Promise((resolve) => {
    const done = (answer) => {
      ok.removeEventListener('click', yes);
      deny.removeEventListener('click', no);
      dialog.removeEventListener('cancel', no);
      dialog.close();
      resolve(answer);
    };
    const yes = () => done(true);
    const no = () => done(false);
    ok.addEventListener('click', yes);
    deny.addEventListener('click', no);
    dialog.addEventListener('cancel', no);
    dialog.showModal();
  });
}

async function post(path, body) {
  try {
    const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return await res.json();
  } catch (err) {
    return { ok: false, error: String(err) };
  }
}

// ---- cards ----

function messageCard(v) {
  const meta = el(
    'div',
    { class: 'meta' },
    el('span', { class: 'who' }, v.to ? `DM to ${v.to.name}` : `in ${v.channel}`),
    el('span', {}, time(v.postedAt)),
    v.edits > 0 ? el('span', { class: 'edited' }, `edited ${v.edits}×`) : null,
    link(v.reviewUrl, 'review in Temporal', 'review-link'),
  );
  const replies = v.replies.length
    ? el(
        'div',
        { class: 'replies' },
        v.replies.map((r) => el('div', { class: 'reply' }, el('span', { class: 'thread' }, 'thread reply: '), mrkdwn(r.text))),
      )
    : null;
  const clicks = v.clicks.length
    ? el(
        'ul',
        { class: 'clicks' },
        v.clicks.map((c) =>
          el(
            'li',
            { class: c.status === 200 ? 'ok' : 'bad', 'data-status': c.status },
            `clicked “${c.label}” → signed request to vouch's handler: `,
            c.status ? `HTTP ${c.status} in ${c.elapsedMs} ms` : 'not delivered',
            c.error ? ` (${c.error})` : '',
          ),
        ),
      )
    : null;
  const ephemerals = v.ephemerals.length
    ? el('div', { class: 'ephemerals' }, v.ephemerals.map((e) => el('div', { class: 'ephemeral' }, el('span', { class: 'thread' }, 'only visible to you: '), mrkdwn(e.text))))
    : null;
  return el(
    'article',
    { class: 'card msg', 'data-key': v.key, 'data-review-id': v.reviewId, 'data-edits': v.edits, 'data-to': v.to ? v.to.name : null },
    meta,
    renderBlocks(v),
    replies,
    clicks,
    ephemerals,
  );
}

function pushCard(p) {
  const info = el('dl', {}, Object.entries(p.pushinfo).map(([k, val]) => [el('dt', {}, k), el('dd', {}, val)]));
  const waiting = p.state === 'waiting';
  const decide = (answer) => async (ev) => {
    const card = ev.currentTarget.closest('.push');
    for (const b of card.querySelectorAll('button')) b.disabled = true;
    const res = await post('/api/duo/decide', { txid: p.txid, answer });
    if (!res.ok) {
      window.alert(res.error || 'failed');
      for (const b of card.querySelectorAll('button')) b.disabled = false;
    }
  };
  return el(
    'article',
    { class: `card push ${p.state}`, 'data-txid': p.txid, 'data-username': p.username, 'data-state': p.state },
    el('div', { class: 'meta' }, el('span', { class: 'who' }, `Duo push to ${p.username}`), el('span', {}, time(p.createdAt)), el('span', { class: `badge ${p.state}` }, p.state)),
    el('div', { class: 'push-title' }, p.pushType || 'Login request'),
    info,
    waiting
      ? el(
          'div',
          { class: 'bk-actions' },
          el('button', { type: 'button', class: 'btn primary duo-approve', onclick: decide('allow') }, 'Approve'),
          el('button', { type: 'button', class: 'btn danger duo-deny', onclick: decide('deny') }, 'Deny'),
        )
      : el('div', { class: 'decided' }, p.decidedBy ? `answered ${p.state} by ${p.decidedBy}` : p.state),
  );
}

function incidentCard(i) {
  return el(
    'article',
    { class: `card incident ${i.status}`, 'data-dedup-key': i.dedupKey, 'data-status': i.status, 'data-severity': i.severity },
    el(
      'div',
      { class: 'meta' },
      el('span', { class: `badge ${i.severity}` }, i.severity),
      el('span', { class: `badge ${i.status}` }, i.status),
      el('span', {}, `opened ${time(i.openedAt)}`),
      i.resolvedAt ? el('span', {}, `resolved ${time(i.resolvedAt)}`) : null,
      link(i.reviewUrl, 'review in Temporal', 'review-link'),
    ),
    el('div', { class: 'summary' }, i.summary),
    el(
      'ul',
      { class: 'events' },
      i.events.map((e) => el('li', {}, `${time(e.at)} ${e.action}${e.severity ? ` (${e.severity})` : ''}${e.summary ? `: ${e.summary}` : ''}`)),
    ),
  );
}

function rulesTable(rules) {
  if (!Array.isArray(rules)) return el('pre', {}, rules === null || rules === undefined ? '—' : JSON.stringify(rules, null, 2));
  if (rules.length === 0) return el('p', { class: 'none' }, 'no rules');
  return el(
    'table',
    {},
    el('tr', {}, ['rule', 'dir', 'proto', 'ports', 'source/dest'].map((h) => el('th', {}, h))),
    rules.map((r) => el('tr', {}, [r.id, r.direction, r.protocol, r.ports, r.cidr || r.prefixListId || r.referencedGroupId || ''].map((c) => el('td', {}, c)))),
  );
}

function revertBox(r) {
  if (!r) return null;
  const plan = r.plan
    ? el('div', { class: 'plan' }, el('div', {}, `plan: ${r.plan.description}`), el('pre', {}, `${r.plan.service}:${r.plan.operation} ${JSON.stringify(r.plan.input, null, 2)}`))
    : null;
  const ba =
    r.state === 'ran'
      ? el('div', { class: 'before-after' }, el('div', {}, el('h4', {}, 'before'), rulesTable(r.before)), el('div', {}, el('h4', {}, 'after'), rulesTable(r.after)))
      : null;
  return el('div', { class: `revert ${r.state}`, 'data-revert-state': r.state }, el('div', { class: 'revert-head' }, el('span', { class: `badge ${r.state}` }, `revert: ${r.state}`), r.message || ''), plan, ba);
}

function reviewCard(r) {
  return el(
    'article',
    { class: `card review ${r.outcome}`, 'data-review-id': r.id, 'data-outcome': r.outcome },
    el(
      'div',
      { class: 'meta' },
      el('span', { class: `badge ${r.outcome}` }, r.outcome),
      r.status !== 'RUNNING' && r.status !== 'COMPLETED' ? el('span', { class: 'badge failed' }, r.status) : null,
      r.tier ? el('span', {}, `tier ${r.tier}`) : null,
      r.phase ? el('span', {}, r.phase) : null,
      link(r.url, 'open in Temporal', 'review-link'),
    ),
    el('div', { class: 'summary' }, r.summary || r.id),
    r.reason ? el('div', { class: 'reason' }, r.reason) : null,
    r.error ? el('div', { class: 'error' }, r.error) : null,
    revertBox(r.revert),
    r.timeline.length
      ? el('details', {}, el('summary', {}, `timeline (${r.timeline.length})`), el('ol', {}, r.timeline.map((t) => el('li', {}, `${time(t.at)} ${t.step}: ${t.result}`))))
      : null,
  );
}

// ---- rendering and updates (a changed item replaces its card in place) ----

const KINDS = {
  message: { map: 'messages', list: 'slack-list', key: (x) => x.key, card: messageCard },
  push: { map: 'pushes', list: 'duo-list', key: (x) => x.txid, card: pushCard },
  incident: { map: 'incidents', list: 'pd-list', key: (x) => x.key, card: incidentCard },
  review: { map: 'reviews', list: 'review-list', key: (x) => x.id, card: reviewCard },
};

function upsert(kind, item) {
  const k = KINDS[kind];
  if (!k) return;
  const key = k.key(item);
  state[k.map].set(key, item);
  const list = document.getElementById(k.list);
  const card = k.card(item);
  card.setAttribute('data-card-key', key);
  const existing = [...list.children].find((c) => c.getAttribute('data-card-key') === key);
  if (existing) existing.replaceWith(card);
  else {
    const empty = list.querySelector('.empty');
    if (empty) empty.remove();
    list.prepend(card);
  }
}

function applySnapshot(s) {
  state.info = s.info;
  const ui = document.getElementById('temporal-ui');
  const base = safeHref(s.info.temporalUi);
  if (base && s.info.namespace) ui.href = `${base.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(s.info.namespace)}/workflows`;
  else ui.removeAttribute('href');
  document.getElementById('aws-mode').textContent =
    s.info.aws.mode === 'moto' ? `AWS: moto_server at ${s.info.aws.endpoint} (reverts run for real)` : 'AWS: no emulator (reverts are shown as dry-run plans)';
  for (const k of Object.values(KINDS)) {
    state[k.map].clear();
    const list = document.getElementById(k.list);
    for (const c of [...list.children]) if (!c.classList.contains('empty')) c.remove();
  }
  for (const m of s.messages) upsert('message', m);
  for (const p of s.pushes) upsert('push', p);
  for (const i of s.incidents) upsert('incident', i);
  for (const r of s.reviews) upsert('review', r);
}

function connect() {
  const conn = document.getElementById('connection');
  const source = new EventSource('/events');
  source.addEventListener('snapshot', (ev) => {
    applySnapshot(JSON.parse(ev.data));
    conn.textContent = 'live';
    conn.className = 'conn up';
    document.body.setAttribute('data-live', 'true');
  });
  source.addEventListener('update', (ev) => {
    const u = JSON.parse(ev.data);
    upsert(u.kind, u.item);
  });
  source.addEventListener('error', () => {
    conn.textContent = 'reconnecting…';
    conn.className = 'conn down';
    document.body.removeAttribute('data-live');
  });
}

connect();
