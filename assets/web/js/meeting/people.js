// The people panel: who is in the meeting with their role and mute state,
// the lobby, and for moderators the per-person actions and the meeting
// controls (lock, PIN, link, end for all).
import { h, icon, paintAvatar, formatClock, confirmDialog } from './ui.js';

const roleNames = {
  owner: 'Owner',
  moderator: 'Moderator',
  participant: '',
  speaker: 'Speaker',
  listener: 'Listener',
};

export function roleLabel(p) {
  const parts = [];
  if (roleNames[p.role]) parts.push(roleNames[p.role]);
  if (p.kind === 'guest') parts.push('Guest');
  if (p.kind === 'sip') parts.push(p.number ? `Phone ${p.number}` : 'Phone');
  return parts.join(' · ');
}

export function isModeratorRole(role) {
  return role === 'owner' || role === 'moderator';
}

const roleRank = { owner: 0, moderator: 1, speaker: 2, participant: 3, listener: 4 };

export class PeoplePanel {
  // meeting is the page's controller: state (you, participants, lobby,
  // conference, pin) and actions (moderate, copyLink, endForAll).
  constructor(meeting) {
    this.meeting = meeting;
    this.list = document.getElementById('people');
    this.lobbyList = document.getElementById('lobby-people');
    this.forceBox = document.getElementById('force-mute');
    document.getElementById('participants-panel').addEventListener('click', (e) => this.click(e));
    this.forceBox.addEventListener('change', () => this.render());
  }

  // rememberFocus and restoreFocus keep keyboard focus on "the same"
  // button across a re-render.
  rememberFocus() {
    const active = document.activeElement;
    const row = active && active.closest && active.closest('.participant');
    if (!row) return null;
    return { id: row.dataset.participant, action: active.dataset.action || '' };
  }

  restoreFocus(memo) {
    if (!memo) return;
    const row = document.querySelector(`#participants-panel .participant[data-participant="${CSS.escape(memo.id)}"]`);
    if (!row) return;
    const target = (memo.action && row.querySelector(`[data-action="${CSS.escape(memo.action)}"]`)) ||
      row.querySelector('button') || null;
    if (target) target.focus();
  }

  render() {
    const m = this.meeting;
    const you = m.you;
    if (!you) return;
    const memo = this.rememberFocus();
    const moderator = isModeratorRole(you.role);
    const people = [...m.participants.values()].sort((a, b) =>
      (a.id === you.id ? -1 : b.id === you.id ? 1 : 0) ||
      (roleRank[a.role] ?? 9) - (roleRank[b.role] ?? 9) ||
      a.name.localeCompare(b.name));
    this.list.replaceChildren(...people.map((p) => this.row(p, moderator)));
    document.getElementById('participants-count').textContent = `(${people.length})`;

    // Lobby: moderators only.
    const lobby = moderator ? m.lobby : [];
    document.getElementById('lobby-section').hidden = lobby.length === 0;
    document.getElementById('lobby-count').textContent = `(${lobby.length})`;
    this.lobbyList.replaceChildren(...lobby.map((entry) => this.lobbyRow(entry)));

    this.renderModeration(moderator);
    this.restoreFocus(memo);
  }

  renderModeration(moderator) {
    const m = this.meeting;
    document.getElementById('moderation').hidden = !moderator;
    document.getElementById('end-all-box').hidden = !moderator;
    if (!moderator || !m.conference) return;
    const locked = Boolean(m.conference.locked);
    const lock = document.getElementById('lock-toggle');
    lock.setAttribute('aria-pressed', String(locked));
    lock.querySelector('span').textContent = locked ? 'Unlock meeting' : 'Lock meeting';
    lock.querySelector('use').setAttribute('href', locked ? '#i-lock' : '#i-unlock');
    let pinText = 'No PIN';
    if (m.conference.has_pin) pinText = m.pin ? `PIN: ${m.pin}` : 'Protected by a PIN';
    document.getElementById('pin-state').textContent = pinText;
    document.getElementById('pin-clear').hidden = !m.conference.has_pin;
  }

  row(p, moderator) {
    const m = this.meeting;
    const you = m.you;
    const self = p.id === you.id;
    const avatar = h('span', { class: 'avatar small', 'aria-hidden': 'true' });
    paintAvatar(avatar, p.id, p.name);
    const muted = p.muted || {};
    const forced = p.forced || {};
    const status = h('span', { class: 'status-icons' });
    const micText = muted.microphone ? (forced.microphone ? 'microphone off by a moderator' : 'microphone off') : 'microphone on';
    const camText = muted.camera ? (forced.camera ? 'camera off by a moderator' : 'camera off') : 'camera on';
    status.append(
      this.statusIcon(muted.microphone ? 'mic-off' : 'mic', micText, muted.microphone, forced.microphone),
      this.statusIcon(muted.camera ? 'camera-off' : 'camera', camText, muted.camera, forced.camera));
    if (p.screen) status.append(this.statusIcon('screen', 'sharing the screen', false, false));

    const role = roleLabel(p);
    const row = h('li', { class: 'participant' + (self ? ' self' : ''), dataset: { participant: p.id } },
      avatar,
      h('div', { class: 'person' },
        h('span', { class: 'person-name', text: self ? `${p.name} (you)` : p.name }),
        role ? h('span', { class: 'person-role', text: role }) : null),
      status);
    if (moderator && !self) {
      const actions = this.actions(p);
      if (actions.childElementCount) row.append(actions);
    }
    return row;
  }

  statusIcon(name, text, off, forced) {
    const el = h('span', { class: 'status' + (off ? ' off' : '') + (forced ? ' forced' : ''), title: text, role: 'img', 'aria-label': text });
    el.append(icon(name, 'small'));
    return el;
  }

  actions(p) {
    const m = this.meeting;
    const force = this.forceBox.checked;
    const muted = p.muted || {};
    const forced = p.forced || {};
    const box = h('div', { class: 'person-actions' });
    const button = (action, iconName, label) => {
      const b = h('button', { type: 'button', class: 'icon-button small', dataset: { action }, 'aria-label': label, title: label });
      b.append(icon(iconName, 'small'));
      box.append(b);
    };
    const name = p.name;
    if (p.role !== 'listener') {
      if (forced.microphone) button('allow-unmute-microphone', 'unmute-ok', `Let ${name} unmute the microphone`);
      else if (!muted.microphone || force) button('mute-microphone', 'mic-off', force ? `Mute ${name} and keep the microphone off` : `Mute ${name}’s microphone`);
      if (forced.camera) button('allow-unmute-camera', 'camera', `Let ${name} turn the camera on`);
      else if (!muted.camera || force) button('mute-camera', 'camera-off', force ? `Turn off ${name}’s camera and keep it off` : `Turn off ${name}’s camera`);
    }
    if (p.role !== 'owner') {
      const webinar = m.conference && m.conference.mode === 'webinar';
      if (p.role === 'moderator') {
        button(webinar ? 'make-speaker' : 'make-participant', 'star-off', `Make ${name} ${webinar ? 'a speaker' : 'a participant'} again`);
      } else {
        if (webinar && p.role === 'listener') button('make-speaker', 'mic', `Let ${name} speak`);
        if (webinar && p.role === 'speaker') button('make-listener', 'speaker', `Make ${name} a listener`);
        button('make-moderator', 'star', `Make ${name} a moderator`);
      }
      button('remove', 'user-x', `Remove ${name} from the meeting`);
    }
    return box;
  }

  lobbyRow(entry) {
    const avatar = h('span', { class: 'avatar small', 'aria-hidden': 'true' });
    paintAvatar(avatar, entry.id, entry.name);
    const since = entry.since ? new Date(entry.since) : null;
    const kinds = { guest: 'Guest', sip: 'Phone', user: 'Has an account' };
    const detail = (kinds[entry.kind] || 'Has an account') +
      (since && !Number.isNaN(since.getTime()) ? ` · waiting since ${formatClock(since)}` : '');
    return h('li', { class: 'participant lobby-entry', dataset: { participant: entry.id } },
      avatar,
      h('div', { class: 'person' },
        h('span', { class: 'person-name', text: entry.name }),
        h('span', { class: 'person-role', text: detail })),
      h('div', { class: 'person-actions' },
        h('button', { type: 'button', class: 'button primary small', dataset: { action: 'admit' }, 'aria-label': `Admit ${entry.name}`, text: 'Admit' }),
        h('button', { type: 'button', class: 'button secondary small', dataset: { action: 'refuse' }, 'aria-label': `Refuse ${entry.name}`, text: 'Refuse' })));
  }

  async click(event) {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    const row = button.closest('.participant');
    if (!row) return;
    const id = row.dataset.participant;
    const m = this.meeting;
    const p = m.participants.get(id);
    const name = p ? p.name : (m.lobby.find((e) => e.id === id) || {}).name || 'this person';
    const force = this.forceBox.checked;
    switch (button.dataset.action) {
      case 'admit':
        return m.moderate({ type: 'admit', participant: id });
      case 'refuse':
        return m.moderate({ type: 'refuse', participant: id });
      case 'mute-microphone':
        return m.moderate({ type: 'mute_participant', participant: id, source: 'microphone', ...(force ? { force: true } : {}) });
      case 'mute-camera':
        return m.moderate({ type: 'mute_participant', participant: id, source: 'camera', ...(force ? { force: true } : {}) });
      case 'allow-unmute-microphone':
        return m.moderate({ type: 'allow_unmute', participant: id, source: 'microphone' });
      case 'allow-unmute-camera':
        return m.moderate({ type: 'allow_unmute', participant: id, source: 'camera' });
      case 'make-moderator':
        return m.moderate({ type: 'set_role', participant: id, role: 'moderator' });
      case 'make-participant':
        return m.moderate({ type: 'set_role', participant: id, role: 'participant' });
      case 'make-speaker':
        return m.moderate({ type: 'set_role', participant: id, role: 'speaker' });
      case 'make-listener':
        return m.moderate({ type: 'set_role', participant: id, role: 'listener' });
      case 'remove':
        if (await confirmDialog({
          title: `Remove ${name}?`,
          message: m.conference && m.conference.locked
            ? 'They leave the meeting at once. While it is locked they cannot come back.'
            : 'They leave the meeting at once. They can come back with the link unless you lock the meeting.',
          confirm: 'Remove',
        })) {
          return m.moderate({ type: 'remove', participant: id });
        }
        return undefined;
      default:
        return undefined;
    }
  }
}
