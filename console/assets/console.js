// The console's only script: the live approvals list, and the explain form's field sets. Everything
// a request carries is put on the page with textContent, never as markup. Served from the admin
// port, under a CSP of script-src 'self'.
'use strict';
(function () {
  const table = document.querySelector('[data-approvals-live]');
  if (!table) return;
  const csrf = document.querySelector('meta[name="sluice-csrf"]')?.getAttribute('content') ?? '';
  const body = document.getElementById('pending');
  const feedState = document.getElementById('feed-state');
  const voteStatus = document.getElementById('vote-status');
  const rows = new Map();
  let seen = null;

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function waited(createdAt) {
    const s = Math.max(0, Math.round((Date.now() - Date.parse(createdAt)) / 1000));
    return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  }

  function quorum(a) {
    const yes = a.votes.filter((v) => v.approve).length;
    const need = typeof a.quorum === 'string' ? (a.quorum === 'any' ? 'any one' : `one from each of ${a.approver_groups.join(', ')}`) : `${a.quorum.min} distinct`;
    return `${yes} approval${yes === 1 ? '' : 's'} · needs ${need} (${a.approver_groups.join(', ')})`;
  }

  function action(a) {
    return a.database ? `${a.database.statement}  [${a.database.user}@${a.database.name}]` : `${a.method} ${a.path}`;
  }

  function buildRow(a) {
    const tr = el('tr');
    tr.dataset.id = a.id;
    tr.append(el('td', `${a.subject} (${a.issuer})`), el('td', a.target));
    const act = el('td');
    act.append(el('code', action(a)));
    tr.append(act, el('td', a.rule), el('td', a.reason || '—'));
    const wait = el('td', waited(a.created_at));
    wait.dataset.created = a.created_at;
    tr.append(wait, el('td', quorum(a)));
    const decide = el('td', undefined, 'decide');
    const reasonId = `reason-${a.id}`;
    const label = el('label', 'Reason');
    label.htmlFor = reasonId;
    const input = el('input');
    input.id = reasonId;
    input.name = 'reason';
    input.maxLength = 500;
    const buttons = el('div', undefined, 'buttons');
    const who = `${a.subject}: ${action(a)}`;
    const approve = el('button', 'Approve');
    approve.type = 'button';
    approve.setAttribute('aria-label', `Approve the request of ${who}`);
    const deny = el('button', 'Deny', 'deny');
    deny.type = 'button';
    deny.setAttribute('aria-label', `Deny the request of ${who}`);
    const error = el('p', '', 'row-error');
    error.setAttribute('role', 'alert');
    approve.addEventListener('click', () => vote(a, true, input, error, [approve, deny]));
    deny.addEventListener('click', () => vote(a, false, input, error, [approve, deny]));
    buttons.append(approve, deny);
    decide.append(label, input, buttons, error);
    if (a.caller_left_at) decide.prepend(el('p', 'The caller stopped waiting; approving grants their retry.', 'left'));
    tr.append(decide);
    return tr;
  }

  async function vote(a, approve, input, error, buttons) {
    error.textContent = '';
    const reason = input.value.trim();
    if (!approve && reason === '') {
      error.textContent = 'A denial needs a reason: the requester is shown it.';
      input.focus();
      return;
    }
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const response = await fetch(`/console/approvals/${encodeURIComponent(a.id)}/${approve ? 'approve' : 'deny'}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ reason }),
        credentials: 'same-origin',
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) {
        const code = answer?.error?.code ?? `HTTP ${response.status}`;
        error.textContent = `${answer?.error?.message ?? 'refused'} (${code})`;
        return;
      }
      const status = answer.approval?.status ?? 'recorded';
      voteStatus.textContent = status === 'pending'
        ? `Your approval of ${a.subject}'s ${action(a)} is recorded; the quorum is not reached yet.`
        : `${a.subject}'s ${action(a)} is ${status}.`;
    } catch {
      error.textContent = 'The console could not be reached; try again.';
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  function render(approvals) {
    const ids = new Set(approvals.map((a) => a.id));
    for (const [id, tr] of rows) {
      if (!ids.has(id)) {
        // Keep the focus on the page when the row that had it goes away.
        if (tr.contains(document.activeElement)) document.getElementById('main').focus();
        tr.remove();
        rows.delete(id);
      }
    }
    for (const a of approvals) {
      const existing = rows.get(a.id);
      if (existing) {
        // Only the cells that can change; the reason being typed and the focus stay.
        existing.children[6].textContent = quorum(a);
        continue;
      }
      const tr = buildRow(a);
      if (seen !== null) tr.classList.add('new');
      rows.set(a.id, tr);
      body.append(tr);
    }
    const empty = body.querySelector('.empty-row');
    if (empty) empty.hidden = approvals.length > 0;
    seen = ids;
    table.dataset.count = String(approvals.length);
  }

  setInterval(() => {
    for (const cell of body.querySelectorAll('td[data-created]')) cell.textContent = waited(cell.dataset.created);
  }, 1000);

  const source = new EventSource('/console/approvals/events');
  source.addEventListener('pending', (event) => {
    feedState.textContent = 'Live: new requests appear as they are held.';
    feedState.className = 'feed live';
    render(JSON.parse(event.data).approvals);
  });
  source.addEventListener('unavailable', () => {
    feedState.textContent = 'The approvals store is unavailable; the list may be out of date.';
    feedState.className = 'feed down';
  });
  source.addEventListener('error', () => {
    feedState.textContent = 'Reconnecting…';
    feedState.className = 'feed down';
  });
})();

// The explain form has a field set per protocol; the server reads the one of the chosen target's
// protocol, so without this script both stay visible and the form still works. With it, only the
// set that applies is shown (a hidden set is also disabled, so its fields are not sent).
(function () {
  const target = document.querySelector('form.explain #target');
  if (!target) return;
  const sets = document.querySelectorAll('form.explain fieldset[data-protocol]');
  function show() {
    const protocol = target.selectedOptions[0]?.dataset.protocol ?? 'http';
    for (const set of sets) {
      const applies = set.dataset.protocol === protocol;
      set.hidden = !applies;
      set.disabled = !applies;
    }
  }
  target.addEventListener('change', show);
  show();
})();
