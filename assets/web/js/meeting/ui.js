// Small DOM helpers shared by the meeting page's modules. Nothing here ever
// parses text as HTML: user-supplied strings only ever become text nodes.

const SVG = 'http://www.w3.org/2000/svg';

// h creates an element. attrs: class, text, dataset (object), hidden,
// on<Event> (function), any other key becomes an attribute (true → "").
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'hidden') el.hidden = true;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// icon returns <svg class="icon"><use href="#i-name"></use></svg>, hidden
// from assistive technology (the control that holds it has the label).
export function icon(name, extraClass = '') {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', extraClass ? 'icon ' + extraClass : 'icon');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const use = document.createElementNS(SVG, 'use');
  use.setAttribute('href', '#i-' + name);
  svg.append(use);
  return svg;
}

// setIcon changes which symbol an existing icon (or the first icon inside
// el) shows.
export function setIcon(el, name) {
  const use = el.querySelector('use');
  if (use) use.setAttribute('href', '#i-' + name);
}

// qualityBars draws a four-bar signal icon; setQuality fills it.
export function qualityBars() {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'bars');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('aria-hidden', 'true');
  for (let i = 0; i < 4; i++) {
    const rect = document.createElementNS(SVG, 'rect');
    rect.setAttribute('x', String(1 + i * 4));
    rect.setAttribute('y', String(11 - i * 3));
    rect.setAttribute('width', '3');
    rect.setAttribute('height', String(4 + i * 3));
    rect.setAttribute('rx', '0.8');
    svg.append(rect);
  }
  return svg;
}

const qualityWords = { 1: 'bad', 2: 'poor', 3: 'fair', 4: 'good', 5: 'excellent' };

// setQuality shows a 1–5 score on a .quality element made with
// qualityElement; detail is extra text for the tooltip.
export function setQuality(el, score, who, detail = '') {
  if (!score) {
    el.hidden = true;
    return;
  }
  el.hidden = false;
  const level = Math.max(1, Math.min(5, Math.round(score)));
  el.dataset.level = String(level);
  const text = `${who}: ${qualityWords[level]} connection${detail ? ' (' + detail + ')' : ''}`;
  el.title = text;
  el.setAttribute('aria-label', text);
}

export function qualityElement() {
  const el = h('span', { class: 'quality', role: 'img', hidden: true });
  el.append(qualityBars());
  return el;
}

// initials turns "Anna Berg" into "AB", "gina" into "G".
export function initials(name) {
  const words = String(name || '').trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const first = Array.from(words[0])[0] || '';
  const last = words.length > 1 ? Array.from(words[words.length - 1])[0] || '' : '';
  return (first + last).toUpperCase();
}

// hue gives each id a stable colour for its avatar.
export function hue(id) {
  let n = 0;
  for (const c of String(id)) n = (n * 31 + c.codePointAt(0)) >>> 0;
  return n % 360;
}

// avatar fills el with someone's initials on a colour of their own (set
// through CSSOM, which the Content-Security-Policy allows).
export function paintAvatar(el, id, name) {
  el.textContent = initials(name);
  el.style.setProperty('--hue', String(hue(id)));
}

const urlPattern = /\bhttps?:\/\/[^\s<>"]+/gi;

// linkify returns a fragment of text nodes and <a> elements for the http(s)
// links in text. Links open in a new tab without access to this page.
export function linkify(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(urlPattern)) {
    let url = match[0];
    // Trailing punctuation belongs to the sentence, not the link.
    while (/[.,;:!?)\]}'’”]$/.test(url)) url = url.slice(0, -1);
    let href;
    try {
      href = new URL(url);
    } catch {
      continue;
    }
    if (href.protocol !== 'http:' && href.protocol !== 'https:') continue;
    if (match.index > last) fragment.append(text.slice(last, match.index));
    fragment.append(h('a', { href: href.href, target: '_blank', rel: 'noopener noreferrer', text: url }));
    last = match.index + url.length;
  }
  if (last < text.length) fragment.append(text.slice(last));
  return fragment;
}

export function formatClock(date) {
  return new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' }).format(date);
}

export function formatDateTime(date) {
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' }).format(date);
}

// announce tells screen reader users about something that happened
// elsewhere on the page (someone joined, a message came).
export function announce(text) {
  const el = document.getElementById('announcer');
  el.textContent = '';
  // A new text node in a fresh task makes the live region speak again even
  // when the text is the same as last time.
  setTimeout(() => { el.textContent = text; }, 50);
}

// toast shows a short note at the bottom of the meeting. actions are
// buttons {label, onClick, kind, dataAction}; a toast with actions stays
// until one is used or timeout (ms) passes. Returns a function that closes it.
export function toast(text, { actions = [], timeout, kind = '', key } = {}) {
  const container = document.getElementById('toasts');
  if (key) {
    const old = container.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (old) old.remove();
  }
  const el = h('div', { class: 'toast' + (kind ? ' ' + kind : ''), role: actions.length ? 'alertdialog' : 'status',
    dataset: key ? { key } : {} });
  const message = h('p', { text });
  el.append(message);
  let timer = 0;
  const close = () => {
    clearTimeout(timer);
    el.remove();
  };
  if (actions.length) {
    const row = h('div', { class: 'toast-actions' });
    for (const action of actions) {
      row.append(h('button', {
        type: 'button',
        class: 'button small ' + (action.kind || 'secondary'),
        text: action.label,
        dataset: action.dataAction ? { action: action.dataAction } : {},
        onClick: () => {
          close();
          action.onClick();
        },
      }));
    }
    el.append(row);
  }
  el.append(h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss', onClick: close }, icon('close', 'small')));
  container.append(el);
  while (container.children.length > 4) container.firstElementChild.remove();
  timer = setTimeout(close, timeout ?? (actions.length ? 30000 : 5000));
  return close;
}

// confirmDialog asks a yes/no question in the page's <dialog>; it resolves
// true when the user confirms. Focus returns to where it was.
export function confirmDialog({ title, message, confirm = 'OK', danger = true }) {
  const dialog = document.getElementById('confirm-dialog');
  const back = document.activeElement;
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-message').textContent = message;
  const ok = document.getElementById('confirm-ok');
  ok.textContent = confirm;
  ok.className = 'button ' + (danger ? 'danger' : 'primary');
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      if (back && back.isConnected) back.focus();
      resolve(dialog.returnValue === 'ok');
    }, { once: true });
    dialog.showModal();
    document.getElementById('confirm-cancel').focus();
  });
}

// debounce calls fn at most once per wait ms, with the last arguments.
export function debounce(fn, wait) {
  let timer = 0;
  const run = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
  run.cancel = () => clearTimeout(timer);
  return run;
}

// stored reads and writes small preferences in localStorage, which may be
// unavailable (private windows, disabled storage): then nothing is kept.
export const stored = {
  get(key, fallback = '') {
    try {
      const value = localStorage.getItem('parley.' + key);
      return value === null ? fallback : value;
    } catch {
      return fallback;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem('parley.' + key, String(value));
    } catch {
      // Not kept; harmless.
    }
  },
};
