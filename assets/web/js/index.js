// The landing page: sign in, or say who is signed in; join a meeting by ID
// or link; for people who may create conferences, start one, schedule one
// or create a room, and list their own. Signed-in people also see their
// colleagues and call them, and are reachable for calls (js/calls.js).
import { api, ApiError, appURL } from './api.js';
import { clearErrors, sentence, setBusy, showFieldError, showFormError } from './forms.js';
import { copyText } from './clipboard.js';
import { Calls } from './calls.js';

const views = ['loading', 'problem', 'not-set-up', 'sign-in', 'signed-in'];

const roleNames = {
  owner: 'owner',
  admin: 'administrator',
  security_admin: 'security administrator',
  user: 'user',
};

const signInForm = document.getElementById('sign-in-form');
const signOutButton = document.getElementById('sign-out');
const signOutError = document.getElementById('sign-out-error');
const joinForm = document.getElementById('join-form');
const createForm = document.getElementById('create-form');
const createOpen = document.getElementById('create-open');

let currentUser = null;

const calls = new Calls({ onSignedOut: () => showSignIn() });

// show makes one view visible. focus, if given, is the element that gets
// focus, so that keyboard and screen reader users land in the new view.
function show(view, focus) {
  for (const name of views) {
    document.getElementById('view-' + name).hidden = name !== view;
  }
  // Anyone may join a meeting once the server is set up.
  const joinBox = document.getElementById('join-box');
  joinBox.hidden = view !== 'sign-in' && view !== 'signed-in';
  joinBox.classList.toggle('wide', view === 'signed-in');
  if (view !== 'signed-in') {
    document.getElementById('conferences-box').hidden = true;
    calls.stop();
  }
  if (focus) focus.focus();
}

function showProblem(message) {
  show('problem', document.getElementById('problem-title'));
  document.getElementById('problem-message').textContent = sentence(message);
}

function showServer(server) {
  const name = server.name || 'Parley';
  document.title = server.name ? `${server.name} – Parley` : 'Parley';
  document.getElementById('header-server-name').textContent = server.name || '';
  for (const el of document.querySelectorAll('[data-server-name]')) {
    el.textContent = name;
  }
  const version = document.getElementById('version');
  version.textContent = server.version ? `Parley ${server.version}` : '';
  version.hidden = !server.version;
}

// nextPage is where to go after signing in: /?next=/c/<CID> comes from a
// meeting that needs an account. Only meeting paths of this server count.
function nextPage() {
  const next = new URLSearchParams(location.search).get('next') || '';
  return /^c\/[A-Za-z0-9_-]{1,32}$/.test(next) ? next : '';
}

function showSignIn() {
  currentUser = null;
  signInForm.reset();
  clearErrors(signInForm);
  show('sign-in', signInForm.elements.login);
  if (nextPage()) {
    showFormError(signInForm, 'Sign in to join the meeting; you go there right after.');
  }
}

function showSignedIn(me) {
  const next = nextPage();
  if (next) {
    location.assign(appURL(next));
    return;
  }
  const user = me.user;
  currentUser = user;
  document.getElementById('user-name').textContent = user.display_name || user.login;
  document.getElementById('user-role').textContent = roleNames[user.role] || user.role;
  signOutError.textContent = '';
  const mayCreate = (me.rights || []).includes('create_conferences') || user.role === 'owner' || user.role === 'admin';
  document.getElementById('meeting-tools').hidden = !mayCreate;
  document.getElementById('conferences-box').hidden = !mayCreate;
  closeCreateForm(false);
  show('signed-in', document.getElementById('signed-in-title'));
  calls.start(me);
  if (mayCreate) loadConferences();
}

async function start() {
  show('loading');
  let status;
  try {
    status = await api('GET', '/api/v1/status');
  } catch (err) {
    showProblem(err.message);
    return;
  }
  showServer(status.server || {});
  if (status.setup_required) {
    show('not-set-up');
    return;
  }
  try {
    const me = await api('GET', '/api/v1/me');
    showSignedIn(me);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      showSignIn();
    } else {
      showProblem(err.message);
    }
  }
}

async function signIn(event) {
  event.preventDefault();
  if (signInForm.getAttribute('aria-busy') === 'true') return;
  clearErrors(signInForm);
  const login = signInForm.elements.login.value.trim();
  const password = signInForm.elements.password.value;
  if (!login) {
    showFieldError(signInForm, 'login', 'Enter your login.');
    return;
  }
  if (!password) {
    showFieldError(signInForm, 'password', 'Enter your password.');
    return;
  }

  setBusy(signInForm, true, 'Signing in…');
  try {
    const me = await api('POST', '/api/v1/auth/sign-in', { login, password, session: 'cookie' });
    showSignedIn(me);
  } catch (err) {
    signInForm.elements.password.value = '';
    switch (err.code) {
      case 'bad_credentials':
        showFormError(signInForm, 'Wrong login or password.');
        signInForm.elements.password.focus();
        break;
      case 'account_disabled':
        showFormError(signInForm, 'This account is disabled. Ask an administrator of this server to enable it.');
        break;
      default:
        // account_locked says until when, which only the server knows.
        if (!(err.field && showFieldError(signInForm, err.field, err.message))) {
          showFormError(signInForm, err.message);
        }
    }
  } finally {
    setBusy(signInForm, false);
  }
}

async function signOut() {
  signOutButton.disabled = true;
  signOutError.textContent = '';
  try {
    await api('POST', '/api/v1/auth/sign-out');
    showSignIn();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      showSignIn(); // the session had already ended
    } else {
      signOutError.textContent = sentence(err.message);
    }
  } finally {
    signOutButton.disabled = false;
  }
}

// ---------------------------------------------------------------- joining

// meetingID finds the conference ID in what was typed: a bare ID (spaces
// are dropped, so "482 011 7735" works) or any link with /c/<ID> in it.
function meetingID(text) {
  const trimmed = text.trim();
  const inLink = trimmed.match(/\/c\/([A-Za-z0-9_-]{1,32})(?:[/?#]|$)/);
  if (inLink) return inLink[1];
  const bare = trimmed.replace(/\s+/g, '');
  return /^[A-Za-z0-9_-]{1,32}$/.test(bare) ? bare : '';
}

async function joinMeeting(event) {
  event.preventDefault();
  clearErrors(joinForm);
  const text = joinForm.elements.meeting.value;
  if (!text.trim()) {
    showFieldError(joinForm, 'meeting', 'Enter the meeting ID or paste the link you were sent.');
    return;
  }
  const cid = meetingID(text);
  if (!cid) {
    showFieldError(joinForm, 'meeting', 'That is not a meeting ID or link. An ID has letters, digits, - and _ only.');
    return;
  }
  setBusy(joinForm, true, 'Looking…');
  try {
    await api('GET', `/api/v1/conferences/${encodeURIComponent(cid)}/join-info`);
    location.assign(appURL('c/' + encodeURIComponent(cid)));
  } catch (err) {
    if (err.status === 404) {
      showFieldError(joinForm, 'meeting', `There is no meeting with the ID ${cid}.`);
    } else {
      showFieldError(joinForm, 'meeting', err.message);
    }
  } finally {
    setBusy(joinForm, false);
  }
}

// ---------------------------------------------------------------- creating

async function newMeeting() {
  const button = document.getElementById('new-meeting');
  const error = document.getElementById('new-meeting-error');
  error.textContent = '';
  button.disabled = true;
  const who = currentUser ? currentUser.display_name || currentUser.login : '';
  try {
    const conference = await api('POST', '/api/v1/conferences', {
      name: who ? `${who}’s meeting` : 'Meeting',
      kind: 'instant',
      access: 'public',
      pin: '',
      lobby: 'guests',
      mode: 'meeting',
    });
    location.assign(appURL('c/' + encodeURIComponent(conference.cid)));
  } catch (err) {
    error.textContent = sentence(err.message);
    button.disabled = false;
  }
}

function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function fillTimeZones() {
  const select = createForm.elements.time_zone;
  if (select.options.length > 0) return;
  const here = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  let zones = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    zones = [];
  }
  if (!zones.includes(here)) zones.unshift(here);
  if (!zones.includes('UTC')) zones.push('UTC');
  for (const zone of zones) select.append(new Option(zone.replaceAll('_', ' '), zone, false, zone === here));
}

function openCreateForm() {
  fillTimeZones();
  createForm.reset();
  clearErrors(createForm);
  // Next full hour, in the browser's time zone (the one preselected).
  const start = new Date(Date.now() + 3600000);
  start.setMinutes(0, 0, 0);
  createForm.elements.starts_at.value = localInputValue(start);
  updateCreateForm();
  createForm.hidden = false;
  createOpen.setAttribute('aria-expanded', 'true');
  document.getElementById('created').hidden = true;
  createForm.elements.name.focus();
}

function closeCreateForm(returnFocus = true) {
  createForm.hidden = true;
  createOpen.setAttribute('aria-expanded', 'false');
  if (returnFocus) createOpen.focus();
}

function updateCreateForm() {
  const scheduled = createForm.elements.kind.value === 'scheduled';
  document.getElementById('schedule-fields').hidden = !scheduled;
  document.getElementById('create-pin-field').hidden = createForm.elements.pin_mode.value !== 'custom';
}

// offsetAt is how far the wall clock of timeZone is ahead of UTC at date.
function offsetAt(date, timeZone) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(date);
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - Math.floor(date.getTime() / 1000) * 1000;
}

// zonedTime turns "2026-11-23T10:00" on the wall clocks of timeZone into
// the instant, as RFC 3339 in UTC.
function zonedTime(local, timeZone) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local);
  if (!match) return '';
  const [, y, mo, d, h, mi] = match.map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  let instant = wall - offsetAt(new Date(wall), timeZone);
  instant = wall - offsetAt(new Date(instant), timeZone); // again, for a DST change in between
  return new Date(instant).toISOString().replace('.000Z', 'Z');
}

function createBody() {
  const f = createForm.elements;
  const body = {
    name: f.name.value.trim(),
    kind: f.kind.value,
    access: f.access.value,
    lobby: f.lobby.value,
    mode: f.mode.value,
    max_participants: Number(f.max_participants.value),
  };
  const pinMode = f.pin_mode.value;
  body.pin = pinMode === 'auto' ? 'auto' : pinMode === 'custom' ? f.pin.value.trim() : '';
  const cid = f.cid.value.trim();
  if (cid) body.cid = cid;
  if (body.kind === 'scheduled') {
    body.schedule = {
      starts_at: zonedTime(f.starts_at.value, f.time_zone.value),
      duration_minutes: Number(f.duration_minutes.value),
      time_zone: f.time_zone.value,
      weekdays: [...createForm.querySelectorAll('input[name="weekdays"]:checked')].map((box) => box.value),
      join_before_minutes: Number(f.join_before_minutes.value),
    };
  }
  return body;
}

function checkCreate(body) {
  const errors = {};
  if (!body.name) errors.name = 'Give the meeting a name.';
  if (body.pin && body.pin !== 'auto' && !/^[0-9]{4,10}$/.test(body.pin)) errors.pin = 'A PIN is 4 to 10 digits.';
  if (createForm.elements.pin_mode.value === 'custom' && !body.pin) errors.pin = 'Enter the PIN, or choose None or Random.';
  if (!Number.isInteger(body.max_participants) || body.max_participants < 2 || body.max_participants > 500) {
    errors.max_participants = 'From 2 to 500 people.';
  }
  if (body.cid && !/^[A-Za-z0-9_-]{1,32}$/.test(body.cid)) errors.cid = 'Letters, digits, - and _ only, up to 32.';
  if (body.schedule && !body.schedule.starts_at) errors.starts_at = 'Choose when the meeting starts.';
  return errors;
}

async function createConference(event) {
  event.preventDefault();
  if (createForm.getAttribute('aria-busy') === 'true') return;
  clearErrors(createForm);
  const body = createBody();
  const errors = Object.entries(checkCreate(body));
  if (errors.length > 0) {
    errors.forEach(([name, message], i) => showFieldError(createForm, name, message, i === 0));
    return;
  }
  setBusy(createForm, true, 'Creating…');
  try {
    const conference = await api('POST', '/api/v1/conferences', body);
    closeCreateForm(false);
    const created = document.getElementById('created');
    created.replaceChildren(
      `Created “${conference.name}”. `,
      link(conference, 'Open it'),
      '.',
      conference.pin ? ` The PIN is ${conference.pin}.` : '');
    created.hidden = false;
    await loadConferences();
    const item = document.querySelector(`.conference[data-cid="${CSS.escape(conference.cid)}"] [data-action="copy"]`);
    if (item) item.focus();
  } catch (err) {
    // The server names nested fields "schedule.starts_at"; the form does not.
    const field = (err.field || '').replace(/^schedule\./, '');
    if (!(field && showFieldError(createForm, field, err.message))) showFormError(createForm, err.message);
  } finally {
    setBusy(createForm, false);
  }
}

// ---------------------------------------------------------------- your conferences

function link(conference, text) {
  const a = document.createElement('a');
  a.href = appURL('c/' + encodeURIComponent(conference.cid));
  a.textContent = text;
  return a;
}

function meetingLink(conference) {
  return conference.link || appURL('c/' + encodeURIComponent(conference.cid));
}

const weekdayNames = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };

function describeConference(c) {
  const parts = [];
  const kinds = { room: 'Room', scheduled: 'Scheduled', instant: 'Instant meeting' };
  parts.push(kinds[c.kind] || c.kind);
  if (c.mode === 'webinar') parts.push('webinar');
  parts.push(c.access === 'internal' ? 'accounts only' : 'guests welcome');
  parts.push(c.pin ? `PIN ${c.pin}` : 'no PIN');
  parts.push(`ID ${c.cid}`);
  const s = c.schedule;
  if (s && s.starts_at) {
    const start = new Date(s.starts_at);
    if (!Number.isNaN(start.getTime())) {
      const time = new Intl.DateTimeFormat(undefined, { timeStyle: 'short', timeZone: s.time_zone || undefined }).format(start);
      const zone = s.time_zone ? ` (${s.time_zone.replaceAll('_', ' ')})` : '';
      if (s.weekdays && s.weekdays.length) {
        parts.push(`every ${s.weekdays.map((d) => weekdayNames[d] || d).join(', ')} at ${time}${zone}`);
      } else {
        const day = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: s.time_zone || undefined }).format(start);
        parts.push(`${day} at ${time}${zone}`);
      }
    }
    if (s.duration_minutes) parts.push(`${s.duration_minutes} min`);
  }
  if (c.state === 'ended') parts.push('ended');
  if (c.state === 'not_started') parts.push('not open yet');
  return parts.join(' · ');
}

function conferenceItem(c) {
  const li = document.createElement('li');
  li.className = 'conference';
  li.dataset.cid = c.cid;
  const name = document.createElement('div');
  name.className = 'conference-name';
  name.append(link(c, c.name || c.cid));
  if (c.running) {
    const live = document.createElement('span');
    live.className = 'conference-live';
    live.textContent = ` · ${c.participants === 1 ? '1 person' : `${c.participants} people`} in it now`;
    name.append(live);
  }
  const meta = document.createElement('p');
  meta.className = 'conference-meta';
  meta.textContent = describeConference(c);
  const row = document.createElement('div');
  row.className = 'inline-row';
  const button = (action, text, kind) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = `button small ${kind}`;
    b.dataset.action = action;
    b.textContent = text;
    b.setAttribute('aria-label', `${text}: ${c.name || c.cid}`);
    return b;
  };
  row.append(button('copy', 'Copy link', 'secondary'));
  // "mine" also lists conferences one is invited to; only the owner deletes.
  const owned = !c.owner || !currentUser || c.owner.id === currentUser.id || c.owner.login === currentUser.login;
  if (owned) row.append(button('delete', 'Delete', 'secondary'));
  const fallback = document.createElement('input');
  fallback.type = 'text';
  fallback.readOnly = true;
  fallback.className = 'copy-fallback';
  fallback.hidden = true;
  fallback.setAttribute('aria-label', `Link to ${c.name || c.cid}`);
  const status = document.createElement('p');
  status.className = 'hint';
  status.setAttribute('role', 'status');
  li.append(name, meta, row, fallback, status);
  li.conference = c;
  return li;
}

async function loadConferences() {
  const list = document.getElementById('conferences');
  const error = document.getElementById('conferences-error');
  error.textContent = '';
  try {
    const answer = await api('GET', '/api/v1/conferences?scope=mine');
    const conferences = answer.conferences || [];
    list.replaceChildren(...conferences.map(conferenceItem));
    document.getElementById('conferences-empty').hidden = conferences.length > 0;
  } catch (err) {
    error.textContent = sentence(err.message);
  }
}

async function conferenceAction(event) {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const li = button.closest('.conference');
  const c = li.conference;
  const status = li.querySelector('[role="status"]');
  switch (button.dataset.action) {
    case 'copy': {
      const fallback = li.querySelector('.copy-fallback');
      const copied = await copyText(meetingLink(c), fallback);
      status.textContent = copied ? 'Link copied.' : 'Copy the selected link with Ctrl+C (⌘C on a Mac).';
      break;
    }
    case 'delete': {
      // Ask once, in place: the button becomes the confirmation.
      const row = button.parentElement;
      row.replaceChildren();
      const confirm = document.createElement('button');
      confirm.type = 'button';
      confirm.className = 'button small danger';
      confirm.dataset.action = 'confirm-delete';
      confirm.textContent = 'Delete for good';
      const cancel = document.createElement('button');
      cancel.type = 'button';
      cancel.className = 'button small secondary';
      cancel.dataset.action = 'cancel-delete';
      cancel.textContent = 'Keep it';
      status.textContent = c.running ? 'People are in it now: deleting ends it for them.' : 'Delete this conference? Its link stops working.';
      row.append(confirm, cancel);
      cancel.focus();
      break;
    }
    case 'cancel-delete':
      li.replaceWith(conferenceItem(c));
      document.querySelector(`.conference[data-cid="${CSS.escape(c.cid)}"] [data-action="delete"]`).focus();
      break;
    case 'confirm-delete':
      button.disabled = true;
      try {
        await api('DELETE', '/api/v1/conferences/' + encodeURIComponent(c.cid));
        const next = li.nextElementSibling || li.previousElementSibling;
        li.remove();
        document.getElementById('conferences-empty').hidden = document.getElementById('conferences').children.length > 0;
        const focus = next ? next.querySelector('button') : document.getElementById('conferences-title');
        if (focus) focus.focus();
      } catch (err) {
        button.disabled = false;
        status.textContent = sentence(err.message);
      }
      break;
    default:
      break;
  }
}

signInForm.addEventListener('submit', signIn);
signOutButton.addEventListener('click', signOut);
joinForm.addEventListener('submit', joinMeeting);
document.getElementById('new-meeting').addEventListener('click', newMeeting);
createOpen.addEventListener('click', () => (createForm.hidden ? openCreateForm() : closeCreateForm()));
document.getElementById('create-cancel').addEventListener('click', () => closeCreateForm());
createForm.addEventListener('submit', createConference);
createForm.addEventListener('change', updateCreateForm);
document.getElementById('conferences').addEventListener('click', conferenceAction);
document.getElementById('retry').addEventListener('click', start);
start();
