// 1:1 calls on the landing page (docs/protocol.md, "1:1 calls"): while
// someone is signed in, the page holds a signalling WebSocket and says
// hello so that others can call them; it lists colleagues with their
// presence (GET /api/v1/directory), places calls, and rings for incoming
// ones. An accepted call continues on the meeting page, /c/<conference>.
//
// Test hooks (the Go tests drive this page with chromedp)
// ------------------------------------------------------
// window.parleyCalls, kept up to date:
//   state      'idle'    no one signed in, or the page is leaving for a call
//              'offline' signed in, but not connected (reconnecting)
//              'ready'   connected and reachable; calls may be placed
//              'calling' an outgoing call is being placed or rings
//              'ringing' an incoming call rings here
//   lastEnded  {reason, message} of the last call that ended without being
//              joined here, or null. reason is the server's (declined,
//              busy, no_answer, offline, cancelled, answered_elsewhere) or
//              'error' (then `code` is the error code); message is the
//              callee's own words for a decline, else the text shown.
//   sound      true while the ring tone plays
//   connections  how many times the page has connected and said hello
//   dropConnection()  closes the WebSocket as a network failure would: the
//              page goes 'offline', shows its note and reconnects
// Stable selectors: #people-search, .person[data-user="<id>"] with
// .presence[data-presence] and [data-action="call"]; #call-dialog (outgoing)
// with #call-status and #call-hangup; #incoming-dialog with #incoming-from,
// #incoming-reason, [data-reason] quick picks, #incoming-accept and
// #incoming-decline; #call-notice (the outcome shown after a call).
import { api, ApiError, appURL } from './api.js';
import { sentence } from './forms.js';
import { Signal } from './meeting/signal.js';

const RECONNECT_FIRST_MS = 1000;
const RECONNECT_MAX_MS = 10000;
const REFRESH_MS = 15000;
const SEARCH_DELAY_MS = 250;
// The server rings for 30 s; a call_ended lost while the socket was down
// must not leave the dialog open for ever.
const INCOMING_GIVE_UP_MS = 40000;
const REASON_MAX_BYTES = 200;

const presenceNames = { available: 'Available', busy: 'Busy', offline: 'Offline' };

const $ = (id) => document.getElementById(id);

const hooks = {
  state: 'idle',
  lastEnded: null,
  sound: false,
  connections: 0,
};
window.parleyCalls = hooks;
let current = null; // the Calls of this page, for dropConnection
hooks.dropConnection = () => {
  const signal = current && current.signal;
  if (signal && signal.ws) signal.ws.close(4000, 'test: dropped');
};

// clipUTF8 shortens text to at most max bytes of UTF-8 without cutting a
// character: the server counts bytes.
export function clipUTF8(text, max = REASON_MAX_BYTES) {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= max) return text;
  let out = '';
  let used = 0;
  for (const ch of text) {
    const size = encoder.encode(ch).length;
    if (used + size > max) break;
    out += ch;
    used += size;
  }
  return out;
}

function initials(name) {
  const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return letters.map((w) => [...w][0].toUpperCase()).join('') || '?';
}

function fillAvatar(el, name, id) {
  el.textContent = initials(name);
  el.className = el.className.replace(/\bhue-\d\b/g, '').trim() + ` hue-${Math.abs(Number(id) || 0) % 6}`;
}

// Ringer plays a ring tone made with WebAudio: two short bursts of
// 440 + 480 Hz every three seconds, all scheduled at once so that timers
// of a background tab cannot stretch it.
class Ringer {
  constructor() {
    this.ctx = null;
    this.unlock = null;
  }

  start() {
    this.stop();
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    let ctx;
    try {
      ctx = new Context();
    } catch {
      return;
    }
    this.ctx = ctx;
    const at = ctx.currentTime + 0.05;
    for (let cycle = 0; cycle < 14; cycle++) {
      this.burst(at + cycle * 3, 0.4);
      this.burst(at + cycle * 3 + 0.6, 0.4);
    }
    const update = () => { hooks.sound = this.ctx === ctx && ctx.state === 'running'; };
    ctx.addEventListener('statechange', update);
    update();
    if (ctx.state === 'suspended') {
      // Without a gesture since the page loaded, the browser holds the
      // sound back; the first click or key lets it play.
      ctx.resume().then(update, () => {});
      this.unlock = () => ctx.resume().then(update, () => {});
      window.addEventListener('pointerdown', this.unlock, { once: true, capture: true });
      window.addEventListener('keydown', this.unlock, { once: true, capture: true });
    }
  }

  burst(at, length) {
    const ctx = this.ctx;
    const gain = ctx.createGain();
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(0.12, at + 0.02);
    gain.gain.setValueAtTime(0.12, at + length - 0.05);
    gain.gain.linearRampToValueAtTime(0, at + length);
    gain.connect(ctx.destination);
    for (const frequency of [440, 480]) {
      const osc = ctx.createOscillator();
      osc.type = 'sine';
      osc.frequency.value = frequency;
      osc.connect(gain);
      osc.start(at);
      osc.stop(at + length);
    }
  }

  stop() {
    if (this.unlock) {
      window.removeEventListener('pointerdown', this.unlock, { capture: true });
      window.removeEventListener('keydown', this.unlock, { capture: true });
      this.unlock = null;
    }
    if (this.ctx) {
      const ctx = this.ctx;
      this.ctx = null;
      ctx.close().catch(() => {});
    }
    hooks.sound = false;
  }
}

// TitleFlash alternates the tab's title with a message, for a call that
// rings in a tab in the background.
class TitleFlash {
  constructor() {
    this.timer = 0;
    this.base = '';
  }

  start(text) {
    this.stop();
    this.base = document.title;
    let on = true;
    document.title = text;
    this.timer = setInterval(() => {
      on = !on;
      document.title = on ? text : this.base;
    }, 1000);
  }

  stop() {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = 0;
    document.title = this.base;
  }
}

export class Calls {
  // onSignedOut is called when the server says the session has ended.
  constructor({ onSignedOut }) {
    this.onSignedOut = onSignedOut;
    this.running = false;
    this.me = null;
    this.mayCall = false;
    this.signal = null;
    this.connected = false;
    this.failures = 0;
    this.retryTimer = 0;
    this.refreshTimer = 0;
    this.searchTimer = 0;
    this.loadSeq = 0;
    this.people = new Map(); // user id → directory entry
    this.outgoing = null;
    this.incoming = null;
    this.ringer = new Ringer();
    this.flash = new TitleFlash();
    current = this;

    this.box = $('people-box');
    this.list = $('people');
    this.search = $('people-search');
    this.callDialog = $('call-dialog');
    this.incomingDialog = $('incoming-dialog');

    this.search.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.loadPeople(), SEARCH_DELAY_MS);
    });
    this.search.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        clearTimeout(this.searchTimer);
        this.loadPeople();
      }
    });
    this.list.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-action="call"]');
      if (!button || button.disabled) return;
      const person = this.people.get(Number(button.closest('.person').dataset.user));
      if (person) this.placeCall(person.id, person.display_name || person.login);
    });
    $('call-hangup').addEventListener('click', () => this.hangUp());
    $('incoming-accept').addEventListener('click', () => this.accept());
    $('incoming-decline').addEventListener('click', () => this.decline());
    $('incoming-reason').addEventListener('input', () => this.reasonChanged());
    $('incoming-reason').addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        this.decline();
      }
    });
    $('incoming-quick').addEventListener('click', (event) => {
      const pick = event.target.closest('button[data-reason]');
      if (!pick) return;
      $('incoming-reason').value = pick.dataset.reason;
      this.reasonChanged();
      $('incoming-decline').focus();
    });
    // Escape (or the browser closing the dialog otherwise) means "no":
    // hang up, or decline.
    this.callDialog.addEventListener('close', () => {
      if (this.callDialog.dataset.closing !== 'us') this.hangUp();
      delete this.callDialog.dataset.closing;
    });
    this.incomingDialog.addEventListener('close', () => {
      if (this.incomingDialog.dataset.closing !== 'us') this.decline();
      delete this.incomingDialog.dataset.closing;
    });
    $('call-notice-close').addEventListener('click', () => this.clearNotice());
    document.addEventListener('visibilitychange', () => {
      if (this.running && !document.hidden) this.loadPeople();
    });
    // Back from the call's meeting page, the browser may show this page
    // from its cache, with the connection closed: start again.
    window.addEventListener('pageshow', (event) => {
      if (event.persisted && this.me && !this.running) this.start(this.me);
    });
    window.addEventListener('online', () => {
      if (this.running && !this.signal) {
        this.failures = 0;
        this.connect();
      }
    });
  }

  // ------------------------------------------------------------ lifetime

  // start begins for a signed-in user (the answer of /api/v1/me).
  start(me) {
    if (this.running && this.me && this.me.user.id === me.user.id) return;
    this.stop();
    this.running = true;
    this.me = me;
    const user = me.user;
    this.mayCall = (me.rights || []).includes('call_users') || user.role === 'owner' || user.role === 'admin';
    $('people-no-right').hidden = this.mayCall;
    $('people-error').textContent = '';
    this.search.value = '';
    this.people.clear();
    this.list.replaceChildren();
    $('people-empty').hidden = true;
    this.box.hidden = false;
    this.failures = 0;
    this.showOffline(false);
    this.updateState();
    this.connect();
    this.loadPeople();
    this.refreshTimer = setInterval(() => {
      if (!document.hidden && !this.box.hidden) this.loadPeople();
    }, REFRESH_MS);
  }

  // stop ends everything: at sign-out, and before leaving for a call
  // (leaving: the page stays as it is until the next one shows).
  stop({ leaving = false } = {}) {
    this.running = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.searchTimer);
    clearInterval(this.refreshTimer);
    this.refreshTimer = 0;
    this.loadSeq++;
    if (this.signal) {
      this.signal.close();
      this.signal = null;
    }
    this.connected = false;
    this.outgoing = null;
    this.stopRinging();
    if (this.incoming) clearTimeout(this.incoming.timer);
    this.incoming = null;
    if (!leaving) {
      this.me = null;
      this.closeDialog(this.callDialog);
      this.closeDialog(this.incomingDialog);
      this.box.hidden = true;
    }
    this.showOffline(false);
    this.updateState();
  }

  // ------------------------------------------------------------ connection

  connect() {
    if (!this.running) return;
    clearTimeout(this.retryTimer);
    const signal = new Signal({
      onMessage: (msg) => {
        if (this.signal === signal) this.receive(msg);
      },
      onClose: () => this.lost(signal),
    });
    this.signal = signal;
    signal.open(10000)
      .then(() => signal.request({ type: 'hello' }, 10000))
      .then(() => {
        if (this.signal !== signal) return;
        this.failures = 0;
        this.connected = true;
        hooks.connections++;
        this.showOffline(false);
        this.updateState();
      })
      .catch(async (err) => {
        if (this.signal !== signal) return;
        signal.close();
        this.signal = null;
        if (err.code === 'sign_in_required' && await this.sessionEnded()) return;
        this.retry();
      });
  }

  lost(signal) {
    if (this.signal !== signal) return;
    this.signal = null;
    this.connected = false;
    // Closing the socket cancels a call it placed (the server says so).
    if (this.outgoing) {
      this.endOutgoing(this.outgoing, { reason: 'cancelled', text: 'The connection to the server was lost, so the call ended.', error: true });
    }
    this.updateState();
    this.retry();
  }

  retry() {
    if (!this.running) return;
    const delay = Math.min(RECONNECT_FIRST_MS * 2 ** this.failures, RECONNECT_MAX_MS);
    this.failures++;
    this.showOffline(true);
    this.updateState();
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  // sessionEnded checks whether the session is gone and, if so, hands
  // over to the sign-in view.
  async sessionEnded() {
    try {
      await api('GET', '/api/v1/me');
      return false;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        this.stop();
        this.onSignedOut();
        return true;
      }
      return false;
    }
  }

  showOffline(offline) {
    $('calls-offline').hidden = !offline;
  }

  updateState() {
    let state = 'offline';
    if (!this.running) state = 'idle';
    else if (this.incoming) state = 'ringing';
    else if (this.outgoing) state = 'calling';
    else if (this.connected) state = 'ready';
    hooks.state = state;
    this.updateButtons();
  }

  receive(msg) {
    const out = this.outgoing;
    const inc = this.incoming;
    switch (msg.type) {
      case 'call_ringing':
        if (out && !out.call) {
          out.call = msg.call;
          out.conference = msg.conference;
          if (out.hangingUp) {
            this.cancel(out);
          } else {
            $('call-status').textContent = 'Ringing…';
            this.callDialog.removeAttribute('aria-busy');
          }
        }
        break;
      case 'call_accepted':
        if (out && msg.call === out.call) this.accepted(out);
        break;
      case 'call_ended':
        // busy and offline answer the call request itself, without a call id.
        if (out && (msg.call ? msg.call === out.call : msg.re && !out.call)) {
          this.endOutgoing(out, { reason: msg.reason, message: msg.message || '' });
        } else if (inc && msg.call === inc.call) {
          this.incomingEnded(inc, msg.reason);
        }
        break;
      case 'incoming_call':
        this.ring(msg);
        break;
      case 'error':
        if (!msg.re) console.warn('parley: signalling error', msg.code, msg.message);
        break;
      default:
        break;
    }
  }

  // ------------------------------------------------------------ people

  async loadPeople() {
    if (!this.running) return;
    const seq = ++this.loadSeq;
    const query = this.search.value.trim();
    this.list.setAttribute('aria-busy', 'true');
    try {
      const answer = await api('GET', '/api/v1/directory' + (query ? '?q=' + encodeURIComponent(query) : ''));
      if (seq !== this.loadSeq || !this.running) return;
      $('people-error').textContent = '';
      this.render(answer.users || [], query);
    } catch (err) {
      if (seq !== this.loadSeq || !this.running) return;
      if (err instanceof ApiError && err.status === 401) {
        this.stop();
        this.onSignedOut();
        return;
      }
      // Without a connection the "Calls unavailable" note says enough.
      if (err.status === 0) return;
      $('people-error').textContent = 'Cannot load the list of people: ' + sentence(err.message);
    } finally {
      if (seq === this.loadSeq) this.list.removeAttribute('aria-busy');
    }
  }

  render(users, query) {
    const focused = this.list.contains(document.activeElement) ? document.activeElement : null;
    const old = new Map([...this.list.children].map((li) => [li.dataset.user, li]));
    this.people = new Map(users.map((u) => [u.id, u]));
    const items = users.map((u) => {
      const li = old.get(String(u.id)) || this.personItem(u);
      this.updatePerson(li, u);
      return li;
    });
    this.list.replaceChildren(...items);
    if (focused && focused.isConnected) focused.focus({ preventScroll: true });
    const empty = $('people-empty');
    empty.hidden = users.length > 0;
    empty.textContent = query ? `No one matches “${query}”.` : 'There is no one else on this server yet.';
    this.updateButtons();
  }

  personItem(u) {
    const li = document.createElement('li');
    li.className = 'person';
    li.dataset.user = String(u.id);
    const avatar = document.createElement('span');
    avatar.className = 'avatar';
    avatar.setAttribute('aria-hidden', 'true');
    const main = document.createElement('div');
    main.className = 'person-main';
    const name = document.createElement('span');
    name.className = 'person-name';
    const login = document.createElement('span');
    login.className = 'person-login';
    const presence = document.createElement('span');
    presence.className = 'presence';
    presence.id = `presence-${u.id}`;
    const dot = document.createElement('span');
    dot.className = 'presence-dot';
    dot.setAttribute('aria-hidden', 'true');
    const text = document.createElement('span');
    text.className = 'presence-text';
    presence.append(dot, text);
    main.append(name, login, presence);
    const call = document.createElement('button');
    call.type = 'button';
    call.className = 'button small primary call-button';
    call.dataset.action = 'call';
    call.textContent = 'Call';
    call.setAttribute('aria-describedby', presence.id);
    li.append(avatar, main, call);
    return li;
  }

  updatePerson(li, u) {
    const name = u.display_name || u.login;
    const presence = presenceNames[u.presence] ? u.presence : 'offline';
    li.dataset.presence = presence;
    fillAvatar(li.querySelector('.avatar'), name, u.id);
    li.querySelector('.person-name').textContent = name;
    li.querySelector('.person-login').textContent = u.login;
    const p = li.querySelector('.presence');
    p.dataset.presence = presence;
    li.querySelector('.presence-text').textContent = presenceNames[presence];
    li.querySelector('[data-action="call"]').setAttribute('aria-label', `Call ${name}`);
  }

  updateButtons() {
    const free = hooks.state === 'ready' && this.mayCall;
    for (const li of this.list.children) {
      const button = li.querySelector('[data-action="call"]');
      const presence = li.dataset.presence;
      button.disabled = !(free && presence === 'available');
      let why = '';
      if (!this.mayCall) why = 'Your groups do not allow calls';
      else if (presence === 'busy') why = 'In a call or meeting now';
      else if (presence === 'offline') why = 'Not online: they cannot be called now';
      else if (hooks.state === 'offline') why = 'Calls are unavailable until the connection is back';
      else if (hooks.state !== 'ready') why = 'Finish the current call first';
      if (why) button.title = why;
      else button.removeAttribute('title');
    }
  }

  // ------------------------------------------------------------ calling

  placeCall(userID, name) {
    if (!this.running || this.outgoing || this.incoming || !this.connected || !this.signal) return;
    this.clearNotice();
    const out = { user: userID, name, call: '', conference: '', hangingUp: false };
    this.outgoing = out;
    this.updateState();
    const avatar = $('call-avatar');
    fillAvatar(avatar, name, userID);
    $('call-name').textContent = name;
    $('call-status').textContent = 'Connecting…';
    this.callDialog.setAttribute('aria-busy', 'true');
    $('call-hangup').disabled = false;
    this.openDialog(this.callDialog, $('call-title'));
    // call_ringing, call_ended (busy, offline) arrive through receive();
    // only a refusal is handled here.
    this.signal.request({ type: 'call', user: userID }).catch((err) => {
      if (this.outgoing !== out || out.call) return;
      if (err.code === 'closed') return; // lost() has told the user
      if (err.code === 'sign_in_required') {
        this.sessionEnded();
        return;
      }
      this.endOutgoing(out, { reason: 'error', code: err.code, text: this.callErrorText(err, name), error: true });
    });
  }

  callErrorText(err, name) {
    switch (err.code) {
      case 'forbidden':
        return `You cannot call ${name}: ${err.message ? err.message.replace(/\.$/, '') : 'your groups do not allow calls'}. Ask an administrator of this server if you need to.`;
      case 'not_found':
        return `${name} has no account on this server any more.`;
      case 'busy':
        return `${name} is busy in another call or meeting.`;
      case 'rate_limited':
        return 'Too many calls in a short time. Wait a moment and try again.';
      case 'timeout':
        return 'The server did not answer in time. Try again.';
      default:
        return `Cannot call ${name}: ${sentence(err.message || err.code)}`;
    }
  }

  hangUp() {
    const out = this.outgoing;
    if (!out || out.hangingUp) return;
    out.hangingUp = true;
    $('call-hangup').disabled = true;
    $('call-status').textContent = 'Hanging up…';
    if (out.call) this.cancel(out);
    // Otherwise call_ringing, when it comes, cancels.
  }

  cancel(out) {
    const signal = this.signal;
    if (!signal) return;
    signal.request({ type: 'call_cancel', call: out.call })
      .then(() => {
        if (this.outgoing === out) this.endOutgoing(out, { reason: 'cancelled', message: '' });
      })
      .catch((err) => {
        // not_found: it stopped ringing just now; the event that says how
        // is on its way. Anything else: the socket closed, and that cancels.
        if (err.code !== 'not_found' && this.outgoing === out) this.endOutgoing(out, { reason: 'cancelled', message: '' });
      });
  }

  accepted(out) {
    if (out.hangingUp) {
      // Answered just as we hung up: offer the way in rather than leave
      // them waiting alone.
      this.endOutgoing(out, { reason: 'accepted', text: `${out.name} answered just as you hung up.`, join: out.conference });
      return;
    }
    $('call-status').textContent = `${out.name} answered. Joining the call…`;
    $('call-hangup').disabled = true;
    this.go(out.conference);
  }

  // endOutgoing closes the dialog and says how the call ended.
  endOutgoing(out, { reason, message = '', code = '', text = '', error = false, join = '' }) {
    if (this.outgoing !== out) return;
    this.outgoing = null;
    this.closeDialog(this.callDialog);
    const name = out.name;
    if (!text) {
      switch (reason) {
        case 'declined':
          text = message ? `${name} declined: ${message}` : `${name} declined the call.`;
          break;
        case 'busy':
          text = `${name} is busy in another call or meeting. Try again later.`;
          break;
        case 'no_answer':
          text = `${name} did not answer.`;
          break;
        case 'offline':
          text = `${name} is not online, so they cannot be called now.`;
          break;
        case 'cancelled':
          text = `You hung up; the call to ${name} was cancelled.`;
          break;
        default:
          text = message ? sentence(message) : `The call to ${name} ended.`;
      }
    }
    hooks.lastEnded = { reason, message: reason === 'declined' ? message : text };
    if (code) hooks.lastEnded.code = code;
    const action = join ? { label: 'Join the call', onClick: () => this.go(join) } : null;
    this.notify(text, { error, action });
    this.updateState();
    this.restoreFocus(out.user);
    this.loadPeople();
  }

  // ------------------------------------------------------------ being called

  ring(msg) {
    if (this.incoming && this.incoming.call === msg.call) return;
    if (this.incoming) this.finishIncoming();
    const from = msg.from || {};
    const name = from.name || 'Someone';
    const inc = { call: msg.call, conference: msg.conference, name, userID: from.user_id, answering: false, timer: 0 };
    this.incoming = inc;
    inc.timer = setTimeout(() => {
      if (this.incoming === inc) this.incomingEnded(inc, 'no_answer');
    }, INCOMING_GIVE_UP_MS);
    this.clearNotice();
    fillAvatar($('incoming-avatar'), name, from.user_id);
    $('incoming-from').textContent = name;
    $('incoming-reason').value = '';
    $('incoming-reason-label-name').textContent = name;
    $('incoming-error').textContent = '';
    this.reasonChanged();
    this.setIncomingBusy(false);
    this.updateState();
    this.openDialog(this.incomingDialog, $('incoming-title'));
    this.ringer.start();
    this.flash.start(`📞 ${name} is calling`);
    this.announce(`${name} is calling.`);
  }

  reasonChanged() {
    const text = $('incoming-reason').value.trim();
    $('incoming-decline').textContent = text ? 'Decline with message' : 'Decline';
    for (const pick of document.querySelectorAll('#incoming-quick [data-reason]')) {
      pick.setAttribute('aria-pressed', String(pick.dataset.reason === text));
    }
  }

  setIncomingBusy(busy) {
    $('incoming-accept').disabled = busy;
    $('incoming-decline').disabled = busy;
    this.incomingDialog.setAttribute('aria-busy', String(busy));
  }

  accept() {
    const inc = this.incoming;
    if (!inc || inc.answering) return;
    if (!this.signal || !this.connected) {
      $('incoming-error').textContent = 'Not connected to the server just now; try again in a moment.';
      return;
    }
    inc.answering = true;
    this.setIncomingBusy(true);
    $('incoming-error').textContent = '';
    this.stopRinging();
    this.signal.request({ type: 'call_accept', call: inc.call })
      .then(() => {
        if (this.incoming === inc) this.go(inc.conference);
      })
      .catch((err) => {
        if (this.incoming !== inc) return;
        if (err.code === 'not_found') {
          this.finishIncoming();
          this.notify(`The call from ${inc.name} is not ringing any more.`, { error: true });
          return;
        }
        inc.answering = false;
        this.setIncomingBusy(false);
        if (!this.incomingDialog.open) this.openDialog(this.incomingDialog, $('incoming-title'));
        $('incoming-error').textContent = err.code === 'closed' || err.code === 'timeout'
          ? 'The connection to the server was lost; try again in a moment.'
          : sentence(err.message);
      });
  }

  decline() {
    const inc = this.incoming;
    if (!inc || inc.answering) return;
    const reason = clipUTF8($('incoming-reason').value.trim());
    inc.answering = true;
    const msg = { type: 'call_decline', call: inc.call };
    if (reason) msg.reason = reason;
    const signal = this.connected ? this.signal : null;
    // The dialog goes at once; the call_ended that follows is ours.
    this.finishIncoming();
    hooks.lastEnded = { reason: 'declined', message: reason };
    this.notify(reason ? `You declined the call from ${inc.name}: “${reason}”.` : `You declined the call from ${inc.name}.`);
    const failed = () => this.notify(`${inc.name}’s call could not be declined (no connection); it stops ringing after 30 seconds.`, { error: true });
    if (!signal) {
      failed();
      return;
    }
    signal.request(msg).catch((err) => {
      if (err.code !== 'not_found') failed();
    });
  }

  incomingEnded(inc, reason) {
    if (this.incoming !== inc) return;
    this.finishIncoming();
    let text;
    switch (reason) {
      case 'answered_elsewhere':
        text = `You answered the call from ${inc.name} on another device.`;
        break;
      case 'declined':
        text = `The call from ${inc.name} was declined on another device.`;
        break;
      default:
        text = `Missed call from ${inc.name}.`;
    }
    hooks.lastEnded = { reason, message: text };
    const callBack = inc.userID && this.mayCall && reason !== 'answered_elsewhere'
      ? { label: 'Call back', onClick: () => this.placeCall(inc.userID, inc.name) }
      : null;
    this.notify(text, { action: callBack });
    this.loadPeople();
  }

  // finishIncoming closes the incoming call's dialog and stops the ring.
  finishIncoming() {
    const inc = this.incoming;
    if (!inc) return;
    clearTimeout(inc.timer);
    this.incoming = null;
    this.stopRinging();
    this.closeDialog(this.incomingDialog);
    this.updateState();
  }

  stopRinging() {
    this.ringer.stop();
    this.flash.stop();
  }

  // go leaves for the call's conference.
  go(conference) {
    this.stop({ leaving: true });
    // ?call: both people agreed to talk, so the meeting page joins at once.
    location.assign(appURL('c/' + encodeURIComponent(conference) + '?call'));
  }

  // ------------------------------------------------------------ dialogs and notices

  openDialog(dialog, focus) {
    if (!dialog.open) {
      if (typeof dialog.showModal === 'function') dialog.showModal();
      else dialog.setAttribute('open', '');
    }
    // The heading takes focus: keys typed elsewhere a moment before must
    // not answer the call by accident.
    focus.focus();
  }

  closeDialog(dialog) {
    if (!dialog.open) return;
    dialog.dataset.closing = 'us';
    if (typeof dialog.close === 'function') dialog.close();
    else dialog.removeAttribute('open');
  }

  restoreFocus(userID) {
    const active = document.activeElement;
    if (active && active !== document.body) return;
    const button = this.list.querySelector(`.person[data-user="${CSS.escape(String(userID))}"] [data-action="call"]`);
    (button && !button.disabled ? button : this.search).focus({ preventScroll: true });
  }

  notify(text, { error = false, action = null } = {}) {
    const box = $('call-notice-box');
    $('call-notice').textContent = text;
    box.classList.toggle('error', error);
    const button = $('call-notice-action');
    button.hidden = !action;
    button.onclick = null;
    if (action) {
      button.textContent = action.label;
      button.onclick = () => {
        this.clearNotice();
        action.onClick();
      };
    }
    box.hidden = false;
    this.announce(text);
  }

  clearNotice() {
    $('call-notice-box').hidden = true;
    $('call-notice').textContent = '';
  }

  announce(text) {
    const el = $('calls-announcer');
    el.textContent = '';
    setTimeout(() => { el.textContent = text; }, 50);
  }
}
