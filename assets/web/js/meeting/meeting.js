// The meeting page at /c/<CID>: pre-join, lobby, the meeting, and the
// screens after it. It speaks docs/protocol.md over /api/v1/signal.
//
// Test hooks (the Go tests drive this page with chromedp)
// ------------------------------------------------------
// window.parley, kept up to date:
//   state         'loading' | 'error' | 'prejoin' | 'joining' | 'lobby' |
//                 'refused' | 'joined' | 'reconnecting' | 'left' |
//                 'removed' | 'ended' | 'lost'
//   you           your participant object (protocol.md) once joined, else null
//   conference    the conference object from joined / conference_updated
//   pcs           {publish, subscribe}: the RTCPeerConnections, or null
//   participants()  array of participant objects, you included
//   lobby()       array of lobby entries (moderators)
//   tracks()      remote tracks received: [{participant, source, kind, track, mid}]
//   layers()      last `layer` sent per remote track id: {width, height} | {paused: true}
//   chat()        chat messages, oldest first
//   layout        'gallery' | 'speaker'
//   lastError     code of the last error (protocol.md codes, plus
//                 'unreachable', 'closed', 'timeout', 'permission', 'media'), or null
//   relayProblem  why media cannot reach the relay (TURN) server, or ''
//                 (shown in the banner while the media path is in trouble)
//   dropConnection()  closes the WebSocket as a network failure would: the
//                 page goes 'reconnecting' and resumes with `join` + `resume`
//   restartIce()  restarts ICE on both connections as after a media failure
//
// Stable selectors:
//   #prejoin (screen), #name (guest name), #pin, #join (button),
//   #prejoin-mic / #prejoin-camera (aria-pressed="true" = will be on)
//   #lobby (waiting screen), #lobby-leave, #lobby-retry
//   #meeting (the meeting), #error-message (the visible error text, on
//   whichever screen shows one), #notice (left / removed / ended / lost
//   screen) with #notice-title and #rejoin
//   .tile[data-participant="<id>"][data-source="camera|screen"] video
//     (.tile.self is you; .tile.has-video when a picture is shown;
//      .tile.speaking for the active speaker)
//   #mic-toggle (aria-pressed="true" = muted), #camera-toggle
//   (aria-pressed="true" = camera off), #screen-toggle (aria-pressed="true"
//   = sharing), #layout-toggle (aria-pressed="true" = speaker layout),
//   #leave, #participants-toggle, #chat-toggle (#chat-badge: unread),
//   #settings-open
//   #chat-input, #chat-send, #chat-to (recipient <select>, "" = everyone),
//   .chat-message[data-id] with [data-action="edit"|"delete"]
//   .participant[data-participant="<id>"] (in #people, and lobby entries in
//   #lobby-people) with buttons [data-action=…]: "mute-microphone",
//   "mute-camera", "allow-unmute-microphone", "allow-unmute-camera",
//   "make-moderator", "make-participant", "make-speaker", "make-listener",
//   "remove", "admit", "refuse". #force-mute (checkbox: mutes are forced).
//   "remove" and "End for all" ask first: confirm with #confirm-ok.
//   #lock-toggle (aria-pressed="true" = locked), #pin-auto, #pin-clear,
//   #pin-custom-open + #pin-input, #admit-all, #refuse-all, #end-all,
//   #copy-link.
import { api, ApiError, appURL } from '../api.js';
import { copyText } from '../clipboard.js';
import { Signal } from './signal.js';
import { LocalMedia, meter, resumeAudio, statusText } from './devices.js';
import { Publisher, Subscriber, rtcConfig } from './rtc.js';
import { Stage } from './stage.js';
import { PeoplePanel, isModeratorRole } from './people.js';
import { ChatPanel } from './chat.js';
import { Prejoin, DevicePicker, deviceNotice } from './prejoin.js';
import { describe, endedText, errorText, leftReasonText } from './messages.js';
import {
  announce, confirmDialog, formatDateTime, h, setIcon, setQuality, qualityElement, toast,
} from './ui.js';

const RECONNECT_GIVE_UP_MS = 30000;
const RECONNECT_MAX_DELAY_MS = 10000;
const ICE_RETRY_MS = 8000;
const STATS_EVERY_MS = 5000;

const $ = (id) => document.getElementById(id);

// The conference id is the last part of /c/<CID>.
const cid = (() => {
  const parts = location.pathname.split('/').filter(Boolean);
  try {
    return decodeURIComponent(parts[parts.length - 1] || '');
  } catch {
    return '';
  }
})();

const media = new LocalMedia();

// m is the page's state and the controller the panels talk to.
const m = {
  state: 'loading',
  info: null,
  me: null,
  conference: null,
  you: null,
  participants: new Map(),
  lobby: [],
  speaker: '',
  pin: '',
  lastError: null,
  layout: 'gallery',
  autoSpeakerLayout: false,
  joinParams: null,
  signal: null,
  resume: '',
  publisher: null,
  subscriber: null,
  remote: new Map(), // "participant/source" → remote track
  audio: new Map(), // "participant/microphone" → <audio>
  micMuted: false,
  cameraOff: false,
  screenTrack: null,
  reconnect: null,
  iceTrouble: null,
  relayProblem: '',
  statsTimer: 0,
  stopSelfMeter: () => {},
  openPanel: '',

  request(msg) {
    if (!m.signal) return Promise.reject(Object.assign(new Error('Not connected.'), { code: 'closed' }));
    return m.signal.request(msg);
  },
  send(msg) {
    return Boolean(m.signal && m.signal.send(msg));
  },
  describe,
  panelOpen(name) {
    return m.openPanel === name;
  },
  // moderate sends a moderator request and reports a refusal.
  async moderate(msg) {
    try {
      const answer = await m.request(msg);
      afterModeration(msg, answer);
      return answer;
    } catch (err) {
      fail(err, { toast: true });
      return null;
    }
  },
};

const stage = new Stage({
  stage: $('stage'),
  main: $('stage-main'),
  tiles: $('tiles'),
  onLayer: (track, layer) => m.send({ type: 'layer', track, ...layer }),
});
const people = new PeoplePanel(m);
const chat = new ChatPanel(m);
const prejoin = new Prejoin(media, { onJoin: join });
const settings = new DevicePicker(media, {
  camera: $('settings-camera'),
  microphone: $('settings-microphone'),
  speaker: $('settings-speaker'),
  speakerField: $('settings-speaker-field'),
  test: $('settings-speaker-test'),
  meter: $('settings-meter'),
}, {
  onTrack: (source, track) => deviceSwitched(source, track),
  onSpeaker: (id) => applySpeaker(id),
  wantsCamera: () => !m.cameraOff,
});
const selfQuality = qualityElement();
$('self-quality').append(selfQuality);

// ---------------------------------------------------------------- hooks

window.parley = {
  get state() { return m.state; },
  get you() { return m.you; },
  get conference() { return m.conference; },
  get pcs() {
    return { publish: m.publisher ? m.publisher.pc : null, subscribe: m.subscriber ? m.subscriber.pc : null };
  },
  participants: () => [...m.participants.values()],
  lobby: () => [...m.lobby],
  tracks: () => [...m.remote.values()].map(({ media: _media, ...info }) => info),
  layers: () => stage.layers(),
  chat: () => [...chat.messages.values()],
  get layout() { return m.layout; },
  get lastError() { return m.lastError; },
  get relayProblem() { return m.relayProblem; },
  dropConnection: () => {
    if (m.signal && m.signal.ws) m.signal.ws.close(4000, 'test: dropped');
  },
  restartIce: () => restartIce(true),
  dialCalls: () => [...dialCalls.entries()].map(([call, c]) => ({ call, ...c })),
};

// ---------------------------------------------------------------- states

const screens = {
  loading: 'loading',
  error: 'error',
  prejoin: 'prejoin',
  joining: 'prejoin',
  lobby: 'lobby',
  refused: 'lobby',
  joined: 'meeting',
  reconnecting: 'meeting',
  left: 'notice',
  removed: 'notice',
  ended: 'notice',
  lost: 'notice',
};

function setState(state) {
  const before = screens[m.state];
  m.state = state;
  document.body.dataset.state = state;
  const screen = screens[state];
  for (const id of new Set(Object.values(screens))) $(id).hidden = id !== screen;
  $('site-header').hidden = screen === 'meeting';
  if (before !== screen) {
    // Land keyboard and screen reader users in the new screen.
    const heading = { error: 'error-title', lobby: 'lobby-title', notice: 'notice-title' }[screen];
    if (heading) $(heading).focus();
  }
}

// showError puts #error-message, with text, on the given screen.
function showError(slot, text) {
  const el = $('error-message');
  const place = document.querySelector(`[data-error-slot="${slot}"]`);
  if (place && el.parentElement !== place) place.append(el);
  el.textContent = text;
}

function clearError() {
  $('error-message').textContent = '';
}

// fatal shows the error screen: the meeting cannot be joined as things are.
function fatal(code, { message, opensAt, retry = false } = {}) {
  m.lastError = code;
  const titles = {
    not_found: 'Meeting not found',
    ended: 'This meeting has ended',
    not_started: 'This meeting has not started yet',
    sign_in_required: 'Please sign in to join',
    unreachable: 'Cannot reach the server',
  };
  $('error-title').textContent = titles[code] || 'This meeting cannot be joined';
  showError('error', message || errorText[code] || 'Something went wrong.');
  const detail = $('error-detail');
  detail.hidden = true;
  let canRetry = retry;
  if (code === 'not_started') {
    canRetry = true;
    const opens = opensAt ? new Date(opensAt) : null;
    if (opens && !Number.isNaN(opens.getTime())) {
      const wait = opens.getTime() - Date.now();
      const soon = wait > 0 && wait < 24 * 3600 * 1000;
      detail.textContent = `You can join from ${formatDateTime(opens)}.` +
        (soon ? ' Keep this page open: it lets you in then.' : '');
      detail.hidden = false;
      if (soon) setTimeout(start, wait + 1500);
    }
  }
  const signIn = $('error-sign-in');
  signIn.hidden = code !== 'sign_in_required';
  signIn.href = appURL('?next=' + encodeURIComponent('c/' + cid));
  $('error-retry').hidden = !canRetry;
  $('error-retry').textContent = code === 'not_started' ? 'Check again' : 'Try again';
  setState('error');
}

// fail records an error; with toast it also tells the user.
function fail(err, { toast: show = false } = {}) {
  m.lastError = codeOf(err);
  if (m.lastError === 'media' && err instanceof Error) console.warn('parley:', err);
  if (show) toast(describe(err), { kind: 'error' });
}

// codeOf is the protocol code of an error; browser errors (DOMException,
// whose numeric `code` means something else) count as 'media'.
function codeOf(err) {
  return err && typeof err.code === 'string' && err.code ? err.code : 'media';
}

// ---------------------------------------------------------------- start

async function start() {
  setState('loading');
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(cid)) {
    fatal('not_found');
    return;
  }
  const [status, info, me] = await Promise.allSettled([
    api('GET', '/api/v1/status'),
    api('GET', `/api/v1/conferences/${encodeURIComponent(cid)}/join-info`),
    api('GET', '/api/v1/me'),
  ]);
  if (status.status === 'fulfilled' && status.value.server) {
    const name = status.value.server.name || '';
    $('header-server-name').textContent = name;
  }
  if (info.status === 'rejected') {
    const err = info.reason;
    if (err instanceof ApiError && err.status === 404) fatal('not_found');
    else if (err instanceof ApiError && err.status === 0) fatal('unreachable', { retry: true });
    else fatal(err.code || 'internal', { message: describe(err), retry: true });
    return;
  }
  m.info = info.value;
  m.me = me.status === 'fulfilled' ? me.value : null;
  document.title = `${m.info.name || 'Meeting'} – Parley`;
  if (m.info.state === 'ended') {
    fatal('ended');
    return;
  }
  if (m.info.state === 'not_started') {
    fatal('not_started', { opensAt: m.info.opens_at });
    return;
  }
  if (m.info.sign_in_required && !m.me) {
    fatal('sign_in_required');
    return;
  }
  prejoin.setup(m.info, m.me);
  $('screen-toggle').hidden = !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
  setState('prejoin');
  if (!m.me) $('name').focus();
  else $('join').focus();
  devicesReady = prejoin.startDevices();
  await devicesReady;
  // An answered 1:1 call goes straight in: both people already agreed to
  // talk, and the devices are the ones they used last.
  if (m.me && new URLSearchParams(location.search).has('call')) $('join').click();
}

// devicesReady settles when the first request for camera and microphone
// has been answered; joining waits for it so that nobody joins without
// devices only because they clicked Join quickly.
let devicesReady = Promise.resolve();

// ---------------------------------------------------------------- joining

function newSignal() {
  if (m.signal) m.signal.close();
  m.signal = new Signal({ onMessage: receive, onClose: signalClosed });
  return m.signal;
}

async function join(params) {
  m.joinParams = params;
  prejoin.setBusy(true);
  // A permission prompt left unanswered does not keep anyone out for long.
  await Promise.race([devicesReady.catch(() => {}), new Promise((r) => setTimeout(r, 10000))]);
  connectAndJoin();
}

// joinMessage is the join request for the pre-join choices.
function joinMessage() {
  const msg = { type: 'join', conference: cid };
  // Users appear under their display name; only guests send one.
  if (!m.me) msg.name = m.joinParams.name;
  if (m.joinParams.pin) msg.pin = m.joinParams.pin;
  // Join with the pre-join choices, so nobody sees us unmuted for a moment.
  msg.muted = { microphone: !prejoin.micOn, camera: !prejoin.cameraOn };
  return msg;
}

async function connectAndJoin() {
  clearError();
  prejoin.clear();
  prejoin.setBusy(true);
  setState('joining');
  const signal = newSignal();
  try {
    await signal.open();
    await signal.request(joinMessage(), 30000);
    // The answer, lobby or joined, went through receive().
  } catch (err) {
    if (signal === m.signal) joinFailed(err);
  }
}

function joinFailed(err) {
  m.lastError = err.code;
  prejoin.setBusy(false);
  if (m.signal) {
    m.signal.close();
    m.signal = null;
  }
  const text = describe(err);
  switch (err.code) {
    case 'pin_required':
    case 'wrong_pin':
      setState('prejoin');
      showError('prejoin', text);
      prejoin.fieldError('pin', err.code === 'wrong_pin' ? 'Wrong PIN.' : 'Enter the PIN.');
      return;
    case 'refused':
      showRefused(err.retryAfter);
      return;
    case 'not_found':
    case 'ended':
    case 'sign_in_required':
      fatal(err.code);
      return;
    case 'not_started':
      fatal('not_started', { opensAt: err.opensAt });
      return;
    case 'invalid':
      setState('prejoin');
      if (err.field === 'name' && !m.me) prejoin.fieldError('name', text);
      else if (err.field === 'pin') prejoin.fieldError('pin', text);
      else showError('prejoin', text);
      return;
    default:
      // locked, full, rate_limited, unreachable, timeout…: worth trying again.
      setState('prejoin');
      showError('prejoin', text);
      $('join').focus();
  }
}

function showLobby(msg) {
  prejoin.setBusy(false);
  clearError();
  $('lobby-title').textContent = 'Waiting to be let in';
  $('lobby-message').textContent = (msg && msg.message) || 'Please wait, a moderator will let you in.';
  $('lobby-dots').hidden = false;
  $('lobby-refused').hidden = true;
  $('lobby-retry').hidden = true;
  if (msg && msg.conference) m.conference = msg.conference;
  const video = $('lobby-video');
  video.srcObject = media.camera ? new MediaStream([media.camera]) : null;
  video.parentElement.hidden = !media.camera;
  setState('lobby');
}

let refusedTimer = 0;

// showRefused says a moderator turned you away, counting down until you
// may ask again.
function showRefused(seconds) {
  prejoin.setBusy(false);
  if (m.signal) {
    m.signal.close();
    m.signal = null;
  }
  m.lastError = 'refused';
  clearError();
  clearInterval(refusedTimer);
  $('lobby-title').textContent = 'You were not let in';
  $('lobby-message').textContent = errorText.refused;
  $('lobby-dots').hidden = true;
  $('lobby-video').parentElement.hidden = true;
  const line = $('lobby-refused');
  const retry = $('lobby-retry');
  const until = Date.now() + Math.max(0, seconds || 0) * 1000;
  const tick = () => {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left > 0) {
      const mm = Math.floor(left / 60);
      const ss = String(left % 60).padStart(2, '0');
      line.textContent = `You can ask again in ${mm}:${ss}.`;
      retry.hidden = true;
    } else {
      clearInterval(refusedTimer);
      line.textContent = 'You can ask to join again.';
      retry.hidden = false;
    }
  };
  line.hidden = false;
  tick();
  refusedTimer = setInterval(tick, 1000);
  setState('refused');
}

// ---------------------------------------------------------------- dial-out

// Calls a moderator placed to phones, by call id: {target, state, reason}.
const dialCalls = new Map();
const dialStateText = {
  calling: 'Calling…',
  ringing: 'Ringing…',
  answered: 'In the meeting',
  busy: 'Busy',
  no_answer: 'No answer',
  declined: 'Declined',
  failed: 'Call failed',
  cancelled: 'Hung up',
  ended: 'Call ended',
};
const dialFinal = new Set(['busy', 'no_answer', 'declined', 'failed', 'cancelled', 'ended']);

function dialProgress(msg) {
  dialCalls.set(msg.call, { target: msg.target, state: msg.state, reason: msg.reason || '' });
  announce(`${msg.target}: ${dialStateText[msg.state] || msg.state}`);
  if (dialFinal.has(msg.state)) {
    setTimeout(() => {
      const call = dialCalls.get(msg.call);
      if (call && call.state === msg.state) {
        dialCalls.delete(msg.call);
        renderDialCalls();
      }
    }, 15000);
  }
  renderDialCalls();
}

function renderDialCalls() {
  $('dial-calls').replaceChildren(...[...dialCalls.entries()].map(([call, c]) => {
    const text = (dialStateText[c.state] || c.state) + (c.reason ? ` (${c.reason})` : '');
    return h('li', { class: `dial-call dial-${c.state}`, dataset: { call } },
      h('span', { class: 'dial-target', text: c.target }),
      h('span', { class: 'dial-state', text }),
      dialFinal.has(c.state) ? null
        : h('button', { type: 'button', class: 'link-button', dataset: { call }, text: 'Hang up' }));
  }));
}

// ---------------------------------------------------------------- messages

function receive(msg) {
  switch (msg.type) {
    case 'lobby':
      showLobby(msg);
      break;
    case 'admitted':
      $('lobby-title').textContent = 'You are in';
      $('lobby-message').textContent = 'A moderator let you in. Joining…';
      announce('A moderator let you in.');
      break;
    case 'refused':
      showRefused(msg.retry_after);
      break;
    case 'joined':
      joined(msg);
      break;
    case 'subscribe_offer':
      if (m.subscriber) {
        m.subscriber.handleOffer(msg).catch((err) => {
          console.warn('parley: subscribe offer', err);
          fail({ code: 'media', message: err.message });
        });
      }
      break;
    case 'candidate': {
      const target = msg.target === 'publish' ? m.publisher : m.subscriber;
      if (target) target.addRemoteCandidate(msg.candidate);
      break;
    }
    case 'speaker':
      m.speaker = msg.participant || '';
      stage.setSpeaker(m.speaker);
      break;
    case 'quality':
      for (const [id, score] of Object.entries(msg.scores || {})) {
        if (m.you && id === m.you.id) continue; // yours comes from getStats
        stage.setQuality(id, score, '');
      }
      break;
    case 'participant_joined':
      participantJoined(msg.participant);
      break;
    case 'participant_updated':
      participantUpdated(msg.participant);
      break;
    case 'participant_left':
      participantLeft(msg.participant, msg.reason);
      break;
    case 'conference_updated':
      conferenceUpdated(msg.conference);
      break;
    case 'ended':
      finish('ended', { reason: msg.reason });
      break;
    case 'removed':
      finish('removed', { by: msg.by });
      break;
    case 'dial_progress':
      dialProgress(msg);
      break;
    case 'muted_by_moderator':
      mutedByModerator(msg);
      break;
    case 'lobby_updated':
      lobbyUpdated(msg.lobby || []);
      break;
    case 'chat':
      chat.add(msg.message);
      break;
    case 'chat_updated':
      chat.update(msg.message);
      break;
    case 'error':
      // An error that answers nothing we wait for.
      fail(msg, { toast: m.state === 'joined' });
      break;
    default:
      // ok, pin, publish_answer without a waiting request; calls (this page
      // takes none).
      break;
  }
}

function joined(msg) {
  const resuming = Boolean(m.reconnect);
  const keepMedia = resuming && msg.resumed && m.publisher && m.subscriber;
  clearInterval(refusedTimer);
  prejoin.setBusy(false);
  m.you = msg.you;
  m.conference = msg.conference;
  m.resume = msg.resume || m.resume;
  m.participants = new Map((msg.participants || []).map((p) => [p.id, p]));
  m.participants.set(m.you.id, m.you);
  m.lobby = msg.lobby || [];
  m.speaker = msg.speaker || '';
  stage.selfId = m.you.id;
  chat.reset(msg.chat || []);
  if (resuming) endReconnect();
  if (!keepMedia) {
    if (resuming) prejoin.micOn = !m.micMuted;
    closeMedia();
    stage.clear();
    setupMedia(msg);
  } else {
    stage.resendLayers();
    if (!mediaHealthy()) restartIce();
  }
  // Tiles for everyone who may send; yours shows your camera.
  for (const p of m.participants.values()) {
    if (onStage(p)) stage.upsert(p, 'camera', p.id === m.you.id);
  }
  for (const tile of [...stage.tiles.values()]) {
    const p = m.participants.get(tile.participantId);
    if (!p || !onStage(p)) stage.removeParticipant(tile.participantId);
  }
  showSelfVideo();
  stage.setSpeaker(m.speaker);
  $('meeting-name').textContent = m.conference.name || 'Meeting';
  document.title = `${m.conference.name || 'Meeting'} – Parley`;
  renderAll();
  setState('joined');
  reconcileMute();
  if (!keepMedia) announce(`You joined ${m.conference.name || 'the meeting'}.`);
  startStats();
  startSelfMeter();
  if (!resuming) {
    $('meeting-name').focus();
    // People already waiting when a moderator arrives get the same prompt
    // as those who come later.
    const waiting = m.lobby;
    m.lobby = [];
    lobbyUpdated(waiting);
  }
}

// setupMedia creates both connections. The subscribe side exists before
// anything is awaited: the server's first offer may follow `joined` at once.
function setupMedia(msg) {
  const config = rtcConfig(msg.ice_servers, msg.ice_transport_policy);
  const hooks = {
    sendCandidate: (target, candidate) => m.send({ type: 'candidate', target, candidate }),
    onTrouble: (conn, state) => iceTrouble(conn, state),
    onHealthy: () => iceHealthy(),
    onCandidateError: (event) => candidateError(event),
  };
  m.relayProblem = '';
  m.subscriber = new Subscriber(config, hooks, (x) => m.send(x), remoteTracks);
  m.publisher = new Publisher(config, hooks, (x) => m.request(x));
  const micTrack = media.microphone;
  m.micMuted = !prejoin.micOn || !micTrack || Boolean(m.you.muted && m.you.muted.microphone);
  m.cameraOff = !media.camera;
  if (m.you.forced && m.you.forced.camera && media.camera) {
    media.closeCamera('off');
    m.cameraOff = true;
  }
  if (micTrack) micTrack.enabled = !m.micMuted;
  media.onchange = localDevicesChanged;
  if (canPublish()) publishLocal();
  else stopSendingAll();
}

// publishLocal puts the microphone and camera on the publish connection
// and sends the offer.
async function publishLocal() {
  const pub = m.publisher;
  if (!pub) return;
  try {
    let changed = false;
    if (media.microphone) changed = (await pub.setTrack('microphone', media.microphone)) || changed;
    if (media.camera && !m.cameraOff) changed = (await pub.setTrack('camera', media.camera)) || changed;
    if (changed) await pub.negotiate();
  } catch (err) {
    publishFailed(err);
  }
}

function publishFailed(err) {
  fail(err);
  const text = codeOf(err) === 'forbidden'
    ? 'You may not send audio or video in this meeting.'
    : `${describe(err)} The others may not see or hear you.`;
  toast(text, { kind: 'error', timeout: 8000 });
}

async function renegotiate(opts) {
  if (!m.publisher) return;
  try {
    await m.publisher.negotiate(opts);
  } catch (err) {
    publishFailed(err);
  }
}

function canPublish() {
  return Boolean(m.you) && m.you.role !== 'listener';
}

function closeMedia() {
  clearInterval(m.statsTimer);
  if (m.iceTrouble) clearTimeout(m.iceTrouble.giveUp);
  m.iceTrouble = null;
  if (m.publisher) m.publisher.close();
  if (m.subscriber) m.subscriber.close();
  m.publisher = null;
  m.subscriber = null;
  for (const el of m.audio.values()) {
    el.srcObject = null;
    el.remove();
  }
  m.audio.clear();
  m.remote.clear();
}

// remoteTracks gets the subscribe connection's tracks after each change.
function remoteTracks(list) {
  const before = m.remote;
  const now = new Map();
  for (const t of list) now.set(`${t.participant}/${t.source}`, t);
  m.remote = now;
  let newScreen = false;
  for (const [key, t] of now) {
    if (t.kind === 'audio' || t.source === 'microphone') {
      attachAudio(key, t.media);
      continue;
    }
    const p = m.participants.get(t.participant) ||
      { id: t.participant, name: 'Someone', muted: {}, forced: {}, role: 'participant' };
    const tile = stage.upsert(p, t.source, false);
    tile.setMedia(t.media, t.track);
    if (t.source === 'screen' && !before.has(key)) newScreen = true;
  }
  for (const [key, t] of before) {
    if (now.has(key)) continue;
    if (t.kind === 'audio' || t.source === 'microphone') {
      const el = m.audio.get(key);
      if (el) {
        el.srcObject = null;
        el.remove();
        m.audio.delete(key);
      }
    } else if (t.source === 'screen') {
      stage.remove(t.participant, 'screen');
    } else {
      const tile = stage.get(t.participant, t.source);
      if (tile) tile.setMedia(null);
    }
  }
  if (newScreen && m.layout === 'gallery') {
    m.autoSpeakerLayout = true;
    setLayout('speaker');
  }
  const screens = [...now.values()].some((t) => t.source === 'screen');
  if (!screens && m.autoSpeakerLayout) {
    m.autoSpeakerLayout = false;
    setLayout('gallery');
  }
}

function attachAudio(key, track) {
  let el = m.audio.get(key);
  if (el && el.srcObject && el.srcObject.getTracks()[0] === track) return;
  if (!el) {
    el = document.createElement('audio');
    el.autoplay = true;
    el.dataset.track = key;
    $('audio-sink').append(el);
    m.audio.set(key, el);
  }
  el.srcObject = new MediaStream([track]);
  if (media.prefs.speaker && el.setSinkId) el.setSinkId(media.prefs.speaker).catch(() => {});
  el.play().catch(() => { $('sound-banner').hidden = false; });
}

function applySpeaker(id) {
  for (const el of m.audio.values()) {
    if (el.setSinkId) el.setSinkId(id).catch(() => {});
  }
}

// ---------------------------------------------------------------- people

// onStage: webinar listeners send nothing, so they get no tile (they are
// in the people list).
function onStage(p) {
  return p.role !== 'listener';
}

function participantJoined(p) {
  m.participants.set(p.id, p);
  if (onStage(p)) stage.upsert(p, 'camera', false);
  renderAll();
  announce(`${p.name} joined.`);
}

function participantUpdated(p) {
  const old = m.participants.get(p.id);
  m.participants.set(p.id, p);
  if (m.you && p.id === m.you.id) {
    const before = m.you;
    m.you = p;
    selfUpdated(before, p);
  }
  if (!onStage(p)) stage.removeParticipant(p.id);
  else if (!stage.get(p.id, 'camera') && p.id !== m.you.id) stage.upsert(p, 'camera', false);
  stage.updateParticipant(p);
  if (old && old.screen && !p.screen) stage.remove(p.id, 'screen');
  renderAll();
}

function participantLeft(id, reason) {
  const p = m.participants.get(id);
  m.participants.delete(id);
  stage.removeParticipant(id);
  if (m.speaker === id) m.speaker = '';
  renderAll();
  if (p) {
    const text = `${p.name} ${leftReasonText[reason] || 'left'}.`;
    announce(text);
    if (reason === 'removed' || reason === 'disconnected') toast(text, { timeout: 4000 });
  }
}

// selfUpdated follows changes to your own participant: role (webinar
// listeners send nothing) and forced mutes.
function selfUpdated(before, you) {
  const forced = you.forced || {};
  if (forced.microphone && !m.micMuted) {
    m.micMuted = true;
    if (media.microphone) media.microphone.enabled = false;
  }
  if (forced.camera && !m.cameraOff) turnCameraOff();
  if (before.role !== you.role) {
    if (you.role === 'listener') {
      stopSendingAll();
      showSelfVideo();
      toast('You are now a listener: the others do not see or hear you.');
    } else if (before.role === 'listener') {
      toast('You may now speak. Your microphone is still off; turn it on when you are ready.');
      showSelfVideo();
      publishLocal();
    } else if (isModeratorRole(you.role) && !isModeratorRole(before.role)) {
      toast('You are now a moderator.');
    } else if (!isModeratorRole(you.role) && isModeratorRole(before.role)) {
      toast('You are no longer a moderator.');
    }
  }
  if (before.forced && before.forced.microphone && !forced.microphone) {
    toast('A moderator allowed you to unmute your microphone.');
  }
  if (before.forced && before.forced.camera && !forced.camera) {
    toast('A moderator allowed you to turn your camera on.');
  }
  updateControls();
}

function stopSendingAll() {
  if (media.microphone) media.microphone.enabled = false;
  m.micMuted = true;
  if (!m.cameraOff) turnCameraOff();
  if (m.screenTrack) stopScreen();
  updateControls();
}

function conferenceUpdated(conference) {
  const before = m.conference || {};
  m.conference = conference;
  if (!conference.has_pin) m.pin = '';
  if (before.locked !== conference.locked) {
    announce(conference.locked ? 'The meeting is now locked.' : 'The meeting is now unlocked.');
  }
  renderAll();
}

function lobbyUpdated(lobby) {
  const before = new Set(m.lobby.map((e) => e.id));
  m.lobby = lobby;
  renderAll();
  if (!m.you || !isModeratorRole(m.you.role)) return;
  const now = new Set(lobby.map((e) => e.id));
  // Requests that were handled (here or by another moderator) go away.
  for (const el of document.querySelectorAll('#toasts [data-key^="lobby-"]')) {
    if (!now.has(el.dataset.key.slice(6))) el.remove();
  }
  const arrived = lobby.filter((e) => !before.has(e.id));
  if (arrived.length === 0) return;
  if (lobby.length > 3) {
    for (const el of document.querySelectorAll('#toasts [data-key^="lobby-"]')) el.remove();
    toast(`${lobby.length} people are waiting to join.`, {
      key: 'lobby-all',
      actions: [
        { label: 'Admit all', kind: 'primary', onClick: () => m.moderate({ type: 'admit', all: true }) },
        { label: 'Show', onClick: () => openPanel('participants') },
      ],
    });
  } else {
    for (const entry of arrived) {
      toast(`${entry.name} wants to join.`, {
        key: 'lobby-' + entry.id,
        actions: [
          { label: 'Admit', kind: 'primary', onClick: () => m.moderate({ type: 'admit', participant: entry.id }) },
          { label: 'Refuse', onClick: () => m.moderate({ type: 'refuse', participant: entry.id }) },
        ],
      });
    }
  }
  announce(arrived.length === 1 ? `${arrived[0].name} is waiting in the lobby.` : `${arrived.length} people are waiting in the lobby.`);
}

function afterModeration(msg, answer) {
  if (!m.conference) return;
  if (msg.type === 'set_pin') {
    m.pin = answer && answer.pin ? answer.pin : msg.pin === 'auto' ? '' : msg.pin;
    m.conference = { ...m.conference, has_pin: msg.pin !== '' };
    if (m.pin) toast(`The meeting’s PIN is now ${m.pin}.`, { timeout: 10000 });
    else if (msg.pin === '') toast('The meeting has no PIN any more.');
  } else if (msg.type === 'lock') {
    m.conference = { ...m.conference, locked: msg.locked };
  }
  renderAll();
}

// ---------------------------------------------------------------- render

function renderAll() {
  if (!m.you) return;
  people.render();
  chat.recipients();
  const count = m.participants.size;
  $('count-badge').textContent = count === 1 ? '1 person' : `${count} people`;
  $('locked-badge').hidden = !(m.conference && m.conference.locked);
  $('relay-badge').hidden = !(m.conference && m.conference.relay_only);
  const waiting = isModeratorRole(m.you.role) ? m.lobby.length : 0;
  const badge = $('participants-badge');
  badge.hidden = waiting === 0;
  badge.textContent = String(waiting);
  $('participants-toggle').setAttribute('aria-label', waiting ? `People, ${waiting} waiting in the lobby` : 'People');
  updateControls();
}

function updateControls() {
  const you = m.you;
  if (!you) return;
  const forced = you.forced || {};
  const listener = !canPublish();

  const mic = $('mic-toggle');
  mic.setAttribute('aria-pressed', String(m.micMuted));
  mic.querySelector('.control-label').textContent = m.micMuted ? 'Unmute' : 'Mute';
  setIcon(mic, m.micMuted ? 'mic-off' : 'mic');
  const micLocked = listener || forced.microphone;
  mic.setAttribute('aria-disabled', String(Boolean(micLocked)));
  mic.classList.toggle('off', m.micMuted);
  mic.title = listener ? 'Listeners cannot speak' : forced.microphone
    ? 'A moderator muted you; you can unmute when they allow it'
    : !media.microphone ? `Microphone ${statusText[media.status.microphone] || 'off'}`
      : m.micMuted ? 'Unmute microphone (Ctrl+D)' : 'Mute microphone (Ctrl+D)';

  const cam = $('camera-toggle');
  cam.setAttribute('aria-pressed', String(m.cameraOff));
  cam.querySelector('.control-label').textContent = m.cameraOff ? 'Start video' : 'Stop video';
  setIcon(cam, m.cameraOff ? 'camera-off' : 'camera');
  cam.setAttribute('aria-disabled', String(Boolean(listener || forced.camera)));
  cam.classList.toggle('off', m.cameraOff);
  cam.title = listener ? 'Listeners cannot send video' : forced.camera
    ? 'A moderator turned your camera off; you can turn it on when they allow it'
    : m.cameraOff ? 'Turn camera on (Ctrl+E)' : 'Turn camera off (Ctrl+E)';

  const screen = $('screen-toggle');
  const sharing = Boolean(m.screenTrack);
  screen.setAttribute('aria-pressed', String(sharing));
  screen.querySelector('.control-label').textContent = sharing ? 'Stop sharing' : 'Share';
  setIcon(screen, sharing ? 'screen-stop' : 'screen');
  screen.classList.toggle('active', sharing);
  const mayShare = !listener && !(m.me && m.me.rights && !m.me.rights.includes('share_screen') &&
    !['owner', 'admin'].includes(m.me.user.role));
  screen.setAttribute('aria-disabled', String(!mayShare));
  screen.title = mayShare ? (sharing ? 'Stop sharing your screen' : 'Share your screen') : 'You may not share your screen';

  const layout = $('layout-toggle');
  const speakerLayout = m.layout === 'speaker';
  layout.setAttribute('aria-pressed', String(speakerLayout));
  layout.querySelector('.control-label').textContent = speakerLayout ? 'Gallery' : 'Speaker';
  setIcon(layout, speakerLayout ? 'grid' : 'spotlight');
  layout.title = speakerLayout ? 'Show everyone the same size' : 'Show the active speaker large';

  const selfTile = stage.get(you.id, 'camera');
  if (selfTile) selfTile.update({ ...you, muted: { microphone: m.micMuted, camera: m.cameraOff } });
}

function showSelfVideo() {
  if (!m.you) return;
  if (!onStage(m.you)) {
    stage.removeParticipant(m.you.id);
    return;
  }
  const tile = stage.upsert(m.you, 'camera', true);
  tile.setMedia(!m.cameraOff && media.camera ? media.camera : null);
}

// ---------------------------------------------------------------- your media

function sendMute(source, muted) {
  if (!m.you) return;
  const before = m.you.muted ? m.you.muted[source] : undefined;
  m.you = { ...m.you, muted: { ...(m.you.muted || {}), [source]: muted } };
  m.participants.set(m.you.id, m.you);
  renderAll();
  m.request({ type: 'mute', source, muted }).catch((err) => {
    fail(err);
    if (err.code === 'forbidden' && !muted) {
      // A moderator keeps this source off.
      if (source === 'microphone') {
        m.micMuted = true;
        if (media.microphone) media.microphone.enabled = false;
      } else {
        turnCameraOff();
      }
      toast('A moderator muted you; you can unmute when they allow it.', { kind: 'error' });
    }
    if (m.you && before !== undefined) {
      m.you = { ...m.you, muted: { ...m.you.muted, [source]: err.code === 'forbidden' ? true : before } };
      m.participants.set(m.you.id, m.you);
    }
    renderAll();
  });
}

// reconcileMute tells the server what you send, after a join or resume.
function reconcileMute() {
  if (!m.you) return;
  const muted = m.you.muted || {};
  if (Boolean(muted.microphone) !== m.micMuted) sendMute('microphone', m.micMuted);
  if (Boolean(muted.camera) !== m.cameraOff) sendMute('camera', m.cameraOff);
  updateControls();
}

async function toggleMic() {
  if (m.state !== 'joined' && m.state !== 'reconnecting') return;
  const forced = (m.you.forced || {}).microphone;
  if (!canPublish()) {
    toast('Listeners cannot speak. A moderator can make you a speaker.');
    return;
  }
  if (m.micMuted) {
    if (forced) {
      toast('A moderator muted you; you can unmute when they allow it.');
      return;
    }
    let track = media.microphone;
    if (!track) {
      track = await media.openMicrophone(media.prefs.microphone, false);
      if (!track) {
        m.lastError = 'permission';
        toast(deviceNotice(media.status, { micOn: true, cameraOn: false }) || 'The microphone cannot be used.', { kind: 'error', timeout: 8000 });
        return;
      }
      if (m.publisher && await m.publisher.setTrack('microphone', track)) renegotiate();
      startSelfMeter();
    }
    track.enabled = true;
    m.micMuted = false;
  } else {
    if (media.microphone) media.microphone.enabled = false;
    m.micMuted = true;
  }
  sendMute('microphone', m.micMuted);
  announce(m.micMuted ? 'Microphone off.' : 'Microphone on.');
}

async function toggleCamera() {
  if (m.state !== 'joined' && m.state !== 'reconnecting') return;
  if (!canPublish()) {
    toast('Listeners cannot send video. A moderator can make you a speaker.');
    return;
  }
  if (m.cameraOff) {
    if ((m.you.forced || {}).camera) {
      toast('A moderator turned your camera off; you can turn it on when they allow it.');
      return;
    }
    const button = $('camera-toggle');
    button.disabled = true;
    const track = await media.openCamera(media.prefs.camera, false);
    button.disabled = false;
    if (!track) {
      m.lastError = 'permission';
      toast(deviceNotice(media.status, { micOn: false, cameraOn: true }) || 'The camera cannot be used.', { kind: 'error', timeout: 8000 });
      return;
    }
    m.cameraOff = false;
    if (m.publisher && await m.publisher.setTrack('camera', track)) renegotiate();
    showSelfVideo();
  } else {
    turnCameraOff();
  }
  sendMute('camera', m.cameraOff);
  announce(m.cameraOff ? 'Camera off.' : 'Camera on.');
}

// turnCameraOff stops sending the camera and frees it (its light goes off).
function turnCameraOff() {
  m.cameraOff = true;
  if (m.publisher) m.publisher.setTrack('camera', null).catch(() => {});
  media.closeCamera('off');
  showSelfVideo();
  updateControls();
}

async function toggleScreen() {
  if (m.state !== 'joined') return;
  if (m.screenTrack) {
    stopScreen();
    return;
  }
  if ($('screen-toggle').getAttribute('aria-disabled') === 'true') {
    toast(canPublish() ? 'You may not share your screen on this server.' : 'Listeners cannot share their screen.');
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
  } catch (err) {
    if (err.name !== 'NotAllowedError' && err.name !== 'AbortError') {
      toast('Your screen cannot be shared from this browser.', { kind: 'error' });
    }
    return;
  }
  const track = stream.getVideoTracks()[0];
  if (!track || !m.publisher) {
    stream.getTracks().forEach((t) => t.stop());
    return;
  }
  m.screenTrack = track;
  // The browser's own "Stop sharing" button ends the track.
  track.addEventListener('ended', () => {
    if (m.screenTrack === track) stopScreen();
  });
  stage.upsert(m.you, 'screen', true).setMedia(track);
  updateControls();
  try {
    if (await m.publisher.setTrack('screen', track)) await m.publisher.negotiate();
    announce('You are sharing your screen.');
  } catch (err) {
    m.publisher.abandon('screen');
    m.screenTrack = null;
    track.stop();
    stage.remove(m.you.id, 'screen');
    updateControls();
    fail(err);
    toast(codeOf(err) === 'forbidden' ? 'You may not share your screen in this meeting.' : describe(err), { kind: 'error' });
  }
}

function stopScreen() {
  const track = m.screenTrack;
  if (!track) return;
  m.screenTrack = null;
  track.stop();
  if (m.you) stage.remove(m.you.id, 'screen');
  updateControls();
  if (m.publisher) {
    m.publisher.stopSource('screen').then((changed) => {
      if (changed) renegotiate();
    });
  }
  announce('You stopped sharing your screen.');
}

// deviceSwitched follows a device picked in the settings.
async function deviceSwitched(source, track) {
  if (source === 'camera') {
    if (!track) {
      turnCameraOff();
      sendMute('camera', true);
      toast(deviceNotice(media.status, { micOn: false, cameraOn: true }) || 'That camera cannot be used.', { kind: 'error' });
      return;
    }
    if (m.publisher && canPublish() && await m.publisher.setTrack('camera', track)) renegotiate();
    showSelfVideo();
  } else {
    if (!track) {
      m.micMuted = true;
      sendMute('microphone', true);
      toast(deviceNotice(media.status, { micOn: true, cameraOn: false }) || 'That microphone cannot be used.', { kind: 'error' });
      return;
    }
    track.enabled = !m.micMuted;
    if (m.publisher && canPublish() && await m.publisher.setTrack('microphone', track)) renegotiate();
    startSelfMeter();
  }
  updateControls();
}

// localDevicesChanged notices a device that went away (unplugged), or one
// that arrived late (a permission prompt answered after joining).
function localDevicesChanged() {
  if (!m.you) return;
  if (media.camera && m.cameraOff) media.closeCamera('off');
  if (media.microphone && m.publisher && canPublish() && !m.publisher.transceivers.has('microphone')) {
    media.microphone.enabled = !m.micMuted;
    m.publisher.setTrack('microphone', media.microphone).then((changed) => {
      if (changed) renegotiate();
    });
    startSelfMeter();
  }
  if (!media.camera && !m.cameraOff) {
    turnCameraOff();
    sendMute('camera', true);
    toast('Your camera stopped working.', { kind: 'error' });
  }
  if (!media.microphone && !m.micMuted) {
    m.micMuted = true;
    sendMute('microphone', true);
    toast('Your microphone stopped working.', { kind: 'error' });
  }
  updateControls();
}

function mutedByModerator(msg) {
  const by = m.participants.get(msg.by);
  const who = by ? by.name : 'A moderator';
  if (msg.source === 'microphone') {
    m.micMuted = true;
    if (media.microphone) media.microphone.enabled = false;
  } else {
    turnCameraOff();
  }
  if (m.you) {
    m.you = {
      ...m.you,
      muted: { ...(m.you.muted || {}), [msg.source]: true },
      forced: { ...(m.you.forced || {}), [msg.source]: Boolean(msg.forced) || Boolean((m.you.forced || {})[msg.source]) },
    };
    m.participants.set(m.you.id, m.you);
  }
  const what = msg.source === 'microphone' ? 'muted your microphone' : 'turned your camera off';
  const then = msg.forced ? ' You can turn it back on when a moderator allows it.' : ' You can turn it back on when you are ready.';
  toast(`${who} ${what}.${then}`, { timeout: 8000 });
  announce(`${who} ${what}.`);
  renderAll();
}

// startSelfMeter lights your tile while you speak.
function startSelfMeter() {
  m.stopSelfMeter();
  let lastLoud = 0;
  m.stopSelfMeter = meter(media.microphone, (level) => {
    const now = Date.now();
    if (level > 0.25 && !m.micMuted) lastLoud = now;
    stage.setSelfSpeaking(now - lastLoud < 400);
  });
}

// startStats measures your uplink every 5 s for your quality indicator.
function startStats() {
  clearInterval(m.statsTimer);
  const measure = async () => {
    if (!m.publisher || !m.you) return;
    let q;
    try {
      q = await m.publisher.quality();
    } catch {
      return;
    }
    if (!q || !q.score) return;
    const parts = [];
    if (q.rtt !== null) parts.push(`round trip ${q.rtt} ms`);
    if (q.loss !== null) parts.push(`${(q.loss * 100).toFixed(1)} % packets lost`);
    const detail = parts.join(', ');
    stage.setQuality(m.you.id, q.score, detail);
    setQuality(selfQuality, q.score, 'Your connection', detail);
  };
  m.statsTimer = setInterval(measure, STATS_EVERY_MS);
}

// ---------------------------------------------------------------- leaving

// finish ends the meeting on this page: state is left, removed, ended or lost.
function finish(state, { reason = '', by = '' } = {}) {
  if (m.publisher) {
    // Remember how the person had their devices for a rejoin.
    prejoin.micOn = !m.micMuted;
    prejoin.cameraOn = !m.cameraOff;
  }
  const wasRoom = m.conference && m.conference.kind === 'room';
  const byName = by && m.participants.get(by) ? m.participants.get(by).name : '';
  teardown();
  const title = $('notice-title');
  const message = $('notice-message');
  const rejoin = $('rejoin');
  rejoin.hidden = false;
  rejoin.textContent = 'Rejoin';
  switch (state) {
    case 'left':
      title.textContent = 'You left the meeting';
      message.textContent = 'You can rejoin as long as the meeting goes on.';
      break;
    case 'removed':
      title.textContent = 'You were removed from the meeting';
      message.textContent = byName ? `${byName} removed you from the meeting.` : 'A moderator removed you from the meeting.';
      rejoin.textContent = 'Ask to join again';
      break;
    case 'ended':
      title.textContent = 'The meeting has ended';
      message.textContent = endedText[reason] || 'The meeting has ended.';
      rejoin.hidden = !wasRoom;
      break;
    case 'lost':
      title.textContent = 'Connection lost';
      message.textContent = reason || 'The connection to the meeting could not be restored. Check your network, then rejoin.';
      break;
    default:
      break;
  }
  setState(state);
}

function teardown() {
  endReconnect();
  if (m.signal) {
    m.signal.close();
    m.signal = null;
  }
  if (m.screenTrack) {
    m.screenTrack.stop();
    m.screenTrack = null;
  }
  closeMedia();
  m.stopSelfMeter();
  m.stopSelfMeter = () => {};
  stage.clear();
  closePanel();
  media.onchange = () => {};
  media.stop();
  m.you = null;
  m.participants = new Map();
  m.lobby = [];
  m.resume = '';
  $('toasts').replaceChildren();
  $('banner').hidden = true;
  $('sound-banner').hidden = true;
}

async function leave() {
  const signal = m.signal;
  if (signal && signal.isOpen) {
    try {
      await Promise.race([signal.request({ type: 'leave' }), new Promise((r) => setTimeout(r, 1500))]);
    } catch {
      // Closing the socket leaves too.
    }
  }
  finish('left');
}

async function rejoin() {
  clearError();
  setState('joining');
  prejoin.setBusy(true);
  await media.start({ microphone: true, camera: prejoin.cameraOn });
  if (media.microphone) media.microphone.enabled = prejoin.micOn;
  prejoin.showMedia();
  media.onchange = () => prejoin.showMedia();
  connectAndJoin();
}

// ---------------------------------------------------------------- reconnecting

function signalClosed() {
  if (m.state === 'joined' || m.state === 'reconnecting') {
    startReconnect();
  } else if (m.state === 'lobby') {
    // Ask again: the lobby has no resume token.
    setTimeout(() => {
      if (m.state === 'lobby') connectAndJoinFromLobby();
    }, 1000);
  } else if (m.state === 'joining') {
    joinFailed({ code: 'closed' });
  }
}

async function connectAndJoinFromLobby() {
  const signal = newSignal();
  try {
    await signal.open();
    await signal.request(joinMessage(), 30000);
  } catch (err) {
    if (signal !== m.signal) return;
    if (err.code === 'unreachable' || err.code === 'closed' || err.code === 'timeout') {
      showError('lobby', 'The connection to the server was lost. Trying again…');
      setTimeout(() => {
        if (m.state === 'lobby') connectAndJoinFromLobby();
      }, 3000);
    } else {
      joinFailed(err);
    }
  }
}

function startReconnect() {
  if (m.reconnect) return;
  m.reconnect = { since: Date.now(), attempt: 0, timer: 0 };
  m.reconnect.giveUp = setTimeout(() => finish('lost'), RECONNECT_GIVE_UP_MS);
  showBanner('Reconnecting…');
  setState('reconnecting');
  scheduleReconnect();
}

function scheduleReconnect() {
  const r = m.reconnect;
  if (!r) return;
  const delay = Math.min(1000 * 2 ** r.attempt, RECONNECT_MAX_DELAY_MS);
  r.attempt++;
  r.timer = setTimeout(tryResume, delay);
}

async function tryResume() {
  if (!m.reconnect) return;
  const signal = newSignal();
  try {
    await signal.open(5000);
    await signal.request({ type: 'join', resume: m.resume }, 10000);
    // joined (resumed) went through receive().
  } catch (err) {
    if (signal !== m.signal || !m.reconnect) return;
    signal.close();
    m.signal = null;
    if (err.code === 'ended') finish('ended', { reason: '' });
    else if (['not_found', 'invalid', 'forbidden', 'sign_in_required'].includes(err.code)) {
      finish('lost', { reason: 'The meeting did not keep your place. Rejoin to enter it again.' });
    } else scheduleReconnect();
  }
}

function endReconnect() {
  if (!m.reconnect) return;
  clearTimeout(m.reconnect.timer);
  clearTimeout(m.reconnect.giveUp);
  m.reconnect = null;
  if (!m.iceTrouble) $('banner').hidden = true;
}

function showBanner(text) {
  const banner = $('banner');
  banner.textContent = text;
  banner.hidden = false;
}

// Media path trouble: restart ICE (a new publish offer with iceRestart and
// restart_ice for the subscribe side), again every 8 s, for up to 30 s.
function mediaHealthy() {
  const conns = [m.publisher, m.subscriber].filter((c) => c && c.pc.remoteDescription);
  return conns.every((c) => c.healthy);
}

function iceTrouble() {
  if (!m.publisher || !m.subscriber) return;
  if (!m.iceTrouble) {
    m.iceTrouble = { since: Date.now(), last: 0, giveUp: setTimeout(() => {
      finish('lost', { reason: m.relayProblem || 'Audio and video could not reconnect. Check your network, then rejoin.' });
    }, RECONNECT_GIVE_UP_MS) };
    if (!m.reconnect) showBanner(m.relayProblem || 'Reconnecting audio and video…');
  }
  restartIce();
}

// candidateError explains why a TURN server gave no relay candidate: in a
// relay-only meeting that is why audio and video cannot connect.
function candidateError(event) {
  const url = event.url || '';
  if (!/^turns?:/.test(url)) return;
  if (event.errorCode === 401) {
    m.relayProblem = `The relay server ${url} refused the user name and password it was given. ` +
      'Ask the administrator to check the TURN server settings (the settings test says what is wrong).';
  } else if (!m.relayProblem) {
    m.relayProblem = `The relay server ${url} could not be reached (${event.errorCode} ${event.errorText || ''}). ` +
      'Audio and video cannot connect without it: check your network, or ask the administrator.';
  }
  const connected = [m.publisher, m.subscriber].some((c) => c && c.connectedOnce && c.healthy);
  if (m.conference && m.conference.relay_only && !connected) showBanner(m.relayProblem);
}

function restartIce(now = false) {
  const t = m.iceTrouble;
  if (!now && t && Date.now() - t.last < ICE_RETRY_MS / 2) return;
  if (t) t.last = Date.now();
  if (!m.signal || !m.signal.isOpen || m.state !== 'joined') return; // after the resume
  if (m.publisher && m.publisher.hasMedia) renegotiate({ iceRestart: true });
  m.send({ type: 'restart_ice' });
  setTimeout(() => {
    if (m.iceTrouble && !mediaHealthy()) restartIce();
  }, ICE_RETRY_MS);
}

function iceHealthy() {
  if (!m.iceTrouble || !mediaHealthy()) return;
  clearTimeout(m.iceTrouble.giveUp);
  m.iceTrouble = null;
  if (!m.reconnect) $('banner').hidden = true;
}

// ---------------------------------------------------------------- panels & layout

const panels = {
  participants: { panel: 'participants-panel', toggle: 'participants-toggle', focus: 'participants-panel' },
  chat: { panel: 'chat-panel', toggle: 'chat-toggle', focus: 'chat-input' },
};

function openPanel(name) {
  if (m.openPanel === name) return;
  closePanel(false);
  const p = panels[name];
  m.openPanel = name;
  $(p.panel).hidden = false;
  $(p.toggle).setAttribute('aria-pressed', 'true');
  $(p.toggle).setAttribute('aria-expanded', 'true');
  $('meeting').dataset.panel = name;
  if (name === 'chat') chat.opened();
  $(p.focus).focus();
  stage.scheduleFit();
}

function closePanel(returnFocus = true) {
  const name = m.openPanel;
  if (!name) return;
  const p = panels[name];
  m.openPanel = '';
  $(p.panel).hidden = true;
  $(p.toggle).setAttribute('aria-pressed', 'false');
  $(p.toggle).setAttribute('aria-expanded', 'false');
  delete $('meeting').dataset.panel;
  if (returnFocus) $(p.toggle).focus();
  stage.scheduleFit();
}

function togglePanel(name) {
  if (m.openPanel === name) closePanel();
  else openPanel(name);
}

function setLayout(layout) {
  m.layout = layout;
  stage.setLayout(layout);
  updateControls();
}

// ---------------------------------------------------------------- wiring

$('error-retry').addEventListener('click', start);
$('lobby-leave').addEventListener('click', async () => {
  if (m.signal && m.signal.isOpen) m.send({ type: 'leave' });
  clearInterval(refusedTimer);
  finish('left');
  $('notice-title').textContent = 'You left the lobby';
  $('notice-message').textContent = 'You did not join the meeting.';
  $('rejoin').textContent = 'Ask to join again';
});
$('lobby-retry').addEventListener('click', () => {
  clearInterval(refusedTimer);
  connectAndJoin();
});
$('rejoin').addEventListener('click', rejoin);
$('leave').addEventListener('click', leave);
$('mic-toggle').addEventListener('click', toggleMic);
$('camera-toggle').addEventListener('click', toggleCamera);
$('screen-toggle').addEventListener('click', toggleScreen);
$('layout-toggle').addEventListener('click', () => {
  m.autoSpeakerLayout = false;
  setLayout(m.layout === 'gallery' ? 'speaker' : 'gallery');
});
$('participants-toggle').addEventListener('click', () => togglePanel('participants'));
$('chat-toggle').addEventListener('click', () => togglePanel('chat'));
$('participants-close').addEventListener('click', () => closePanel());
$('chat-close').addEventListener('click', () => closePanel());
$('sound-enable').addEventListener('click', () => {
  resumeAudio();
  for (const el of m.audio.values()) el.play().catch(() => {});
  $('sound-banner').hidden = true;
});

$('settings-open').addEventListener('click', async () => {
  const dialog = $('settings-dialog');
  $('settings-notice').hidden = true;
  await settings.refresh();
  settings.meterOn();
  dialog.showModal();
});
$('settings-dialog').addEventListener('close', () => {
  settings.meterOff();
  $('settings-open').focus();
});

// Moderator controls.
$('lock-toggle').addEventListener('click', () => {
  if (m.conference) m.moderate({ type: 'lock', locked: !m.conference.locked });
});
$('pin-auto').addEventListener('click', () => m.moderate({ type: 'set_pin', pin: 'auto' }));
$('pin-clear').addEventListener('click', () => m.moderate({ type: 'set_pin', pin: '' }));
$('pin-custom-open').addEventListener('click', () => {
  const form = $('pin-form');
  form.hidden = !form.hidden;
  $('pin-custom-open').setAttribute('aria-expanded', String(!form.hidden));
  if (!form.hidden) $('pin-input').focus();
});
$('pin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const pin = $('pin-input').value.trim();
  if (!/^[0-9]{4,10}$/.test(pin)) {
    $('pin-form-error').textContent = 'A PIN is 4 to 10 digits.';
    $('pin-input').focus();
    return;
  }
  $('pin-form-error').textContent = '';
  if (await m.moderate({ type: 'set_pin', pin })) {
    $('pin-form').hidden = true;
    $('pin-input').value = '';
    $('pin-custom-open').setAttribute('aria-expanded', 'false');
  }
});
$('dial-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const target = $('dial-target').value.trim();
  if (!target) {
    $('dial-error').textContent = 'Enter a login, a SIP address or a number.';
    $('dial-target').focus();
    return;
  }
  $('dial-error').textContent = '';
  const answer = await m.moderate({ type: 'dial', target });
  if (answer && answer.call) {
    if (!dialCalls.has(answer.call)) dialCalls.set(answer.call, { target, state: 'calling', reason: '' });
    $('dial-target').value = '';
    renderDialCalls();
  }
});
$('dial-calls').addEventListener('click', (e) => {
  const button = e.target.closest('button[data-call]');
  if (button) m.moderate({ type: 'dial_cancel', call: button.dataset.call });
});
$('admit-all').addEventListener('click', () => m.moderate({ type: 'admit', all: true }));
$('refuse-all').addEventListener('click', () => m.moderate({ type: 'refuse', all: true }));
$('end-all').addEventListener('click', async () => {
  const ok = await confirmDialog({
    title: 'End the meeting for everyone?',
    message: 'Everyone leaves the meeting at once.',
    confirm: 'End for all',
  });
  if (ok) m.moderate({ type: 'end' });
});
$('copy-link').addEventListener('click', async () => {
  const link = (m.conference && m.conference.link) || location.href;
  if (await copyText(link, $('link-fallback'))) toast('Link copied.');
  else toast('Copy the selected link with Ctrl+C (⌘C on a Mac).');
});

// Keyboard: Ctrl/⌘+D microphone, Ctrl/⌘+E camera, Escape closes a panel.
document.addEventListener('keydown', (e) => {
  resumeAudio();
  if (m.state !== 'joined' && m.state !== 'reconnecting') return;
  if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey) {
    const key = e.key.toLowerCase();
    if (key === 'd') {
      e.preventDefault();
      toggleMic();
    } else if (key === 'e') {
      e.preventDefault();
      toggleCamera();
    }
  } else if (e.key === 'Escape' && m.openPanel && !document.querySelector('dialog[open]')) {
    e.preventDefault();
    closePanel();
  }
});
document.addEventListener('pointerdown', resumeAudio);

// Leaving the page leaves the meeting at once rather than after the
// reconnect grace period.
window.addEventListener('pagehide', () => {
  if (m.signal && (m.state === 'joined' || m.state === 'lobby')) m.send({ type: 'leave' });
});

start();
