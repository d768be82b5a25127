// The chat panel: history from `joined`, new and edited messages, private
// messages, editing and deleting, and the unread badge.
import { h, linkify, formatClock, confirmDialog, announce, toast } from './ui.js';
import { isModeratorRole } from './people.js';

// The server's chat_edit_minutes setting; the default, which the client is
// not told.
const EDIT_MINUTES = 10;

export class ChatPanel {
  // meeting: the controller (you, participants, request(), panelOpen()).
  constructor(meeting) {
    this.meeting = meeting;
    this.messages = new Map();
    this.unread = 0;
    this.log = document.getElementById('chat-log');
    this.empty = document.getElementById('chat-empty');
    this.form = document.getElementById('chat-form');
    this.input = document.getElementById('chat-input');
    this.to = document.getElementById('chat-to');
    this.error = document.getElementById('chat-error');
    this.badge = document.getElementById('chat-badge');
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.send();
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.send();
      }
    });
    this.input.addEventListener('input', () => { this.error.textContent = ''; });
    this.to.addEventListener('change', () => {
      this.to.closest('.chat-to').classList.toggle('private', Boolean(this.to.value));
      this.input.focus();
    });
    this.log.addEventListener('click', (e) => this.click(e));
    // Edit and delete buttons go away when the edit window closes.
    setInterval(() => this.refreshActions(), 30000);
  }

  reset(list) {
    this.messages.clear();
    this.log.replaceChildren();
    for (const msg of list || []) this.put(msg, false);
    this.updateEmpty();
    this.scrollToEnd(true);
  }

  // add handles a `chat` message.
  add(msg) {
    const isNew = !this.messages.has(msg.id);
    const nearEnd = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 80;
    this.put(msg, isNew);
    this.updateEmpty();
    const mine = this.meeting.you && msg.from === this.meeting.you.id;
    if (nearEnd || mine) this.scrollToEnd();
    if (!isNew || mine) return;
    const who = msg.from_name || 'Someone';
    if (!this.meeting.panelOpen('chat')) {
      this.unread++;
      this.showBadge();
      toast(`${who}${msg.to ? ' (privately)' : ''}: ${msg.text || ''}`.slice(0, 140), { key: 'chat', timeout: 4000 });
    }
    announce(`${who} ${msg.to ? 'wrote to you privately' : 'wrote'}: ${msg.text || ''}`);
  }

  // update handles chat_updated (edited or deleted).
  update(msg) {
    if (!this.messages.has(msg.id)) return;
    this.put(msg, false);
  }

  put(msg, isNew) {
    this.messages.set(msg.id, msg);
    const el = this.render(msg);
    const old = this.log.querySelector(`.chat-message[data-id="${CSS.escape(String(msg.id))}"]`);
    if (old) {
      old.replaceWith(el);
      return;
    }
    // Keep the log in id order even when a message arrives late.
    const later = [...this.log.children].find((li) => Number(li.dataset.id) > msg.id);
    this.log.insertBefore(el, later || null);
    if (isNew) el.classList.add('new');
  }

  nameOf(id) {
    const m = this.meeting;
    if (m.you && id === m.you.id) return 'you';
    const p = m.participants.get(id);
    return p ? p.name : 'someone who left';
  }

  canEdit(msg) {
    const m = this.meeting;
    return Boolean(m.you && msg.from === m.you.id && !msg.deleted &&
      Date.now() - Date.parse(msg.at) < EDIT_MINUTES * 60000);
  }

  canDelete(msg) {
    const m = this.meeting;
    if (msg.deleted || !m.you) return false;
    return this.canEdit(msg) || isModeratorRole(m.you.role);
  }

  render(msg) {
    const m = this.meeting;
    const mine = m.you && msg.from === m.you.id;
    const at = new Date(msg.at);
    const head = h('div', { class: 'chat-head' },
      h('span', { class: 'chat-from', text: mine ? 'You' : msg.from_name || 'Someone' }));
    if (msg.to) {
      head.append(h('span', { class: 'chat-private', text: mine ? `privately to ${this.nameOf(msg.to)}` : 'privately to you' }));
    }
    if (!Number.isNaN(at.getTime())) {
      head.append(h('time', { class: 'chat-time', datetime: at.toISOString(), text: formatClock(at) }));
    }
    const body = h('p', { class: 'chat-text' });
    if (msg.deleted) {
      body.classList.add('deleted');
      body.textContent = 'Message deleted';
    } else {
      body.append(linkify(msg.text || ''));
      if (msg.edited_at) body.append(' ', h('span', { class: 'chat-edited', text: '(edited)' }));
    }
    const li = h('li', {
      class: 'chat-message' + (mine ? ' mine' : '') + (msg.to ? ' private' : '') + (msg.deleted ? ' deleted' : ''),
      dataset: { id: String(msg.id), from: msg.from || '' },
    }, head, body);
    const actions = h('div', { class: 'chat-actions' });
    if (this.canEdit(msg)) {
      actions.append(h('button', { type: 'button', class: 'link-button', dataset: { action: 'edit' }, text: 'Edit', 'aria-label': 'Edit your message' }));
    }
    if (this.canDelete(msg)) {
      actions.append(h('button', { type: 'button', class: 'link-button', dataset: { action: 'delete' }, text: 'Delete', 'aria-label': 'Delete the message' }));
    }
    if (actions.childElementCount) li.append(actions);
    return li;
  }

  refreshActions() {
    for (const msg of this.messages.values()) {
      const el = this.log.querySelector(`.chat-message[data-id="${CSS.escape(String(msg.id))}"]`);
      if (!el || el.querySelector('.chat-edit')) continue;
      const hasEdit = Boolean(el.querySelector('[data-action="edit"]'));
      if (hasEdit !== this.canEdit(msg)) el.replaceWith(this.render(msg));
    }
  }

  async click(event) {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    const li = button.closest('.chat-message');
    const msg = this.messages.get(Number(li.dataset.id));
    if (!msg) return;
    if (button.dataset.action === 'edit') this.startEdit(li, msg);
    if (button.dataset.action === 'delete') {
      const ok = await confirmDialog({ title: 'Delete this message?', message: 'It is deleted for everyone.', confirm: 'Delete' });
      if (!ok) return;
      try {
        await this.meeting.request({ type: 'chat_delete', message: msg.id });
      } catch (err) {
        this.error.textContent = this.meeting.describe(err);
      }
    }
  }

  startEdit(li, msg) {
    const area = h('textarea', { class: 'chat-edit-input', rows: '2', maxlength: '4000', 'aria-label': 'Edit your message' });
    area.value = msg.text || '';
    const save = h('button', { type: 'submit', class: 'button primary small', text: 'Save' });
    const cancel = h('button', { type: 'button', class: 'button secondary small', text: 'Cancel' });
    const problem = h('p', { class: 'field-error' });
    const form = h('form', { class: 'chat-edit', novalidate: true }, area, h('div', { class: 'inline-row' }, save, cancel), problem);
    const restore = () => {
      const fresh = this.render(this.messages.get(msg.id) || msg);
      li.replaceWith(fresh);
      const again = fresh.querySelector('[data-action="edit"]') || this.input;
      again.focus();
    };
    const submit = async () => {
      const text = area.value.trim();
      if (!text) {
        problem.textContent = 'A message cannot be empty. Use Delete to remove it.';
        return;
      }
      if (text === msg.text) {
        restore();
        return;
      }
      save.disabled = true;
      try {
        await this.meeting.request({ type: 'chat_edit', message: msg.id, text });
        restore();
      } catch (err) {
        problem.textContent = this.meeting.describe(err);
        save.disabled = false;
      }
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      submit();
    });
    area.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        submit();
      } else if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        restore();
      }
    });
    cancel.addEventListener('click', restore);
    li.querySelector('.chat-text').replaceWith(form);
    const actions = li.querySelector('.chat-actions');
    if (actions) actions.remove();
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
  }

  async send() {
    const text = this.input.value.trim();
    if (!text) return;
    if (Array.from(text).length > 4000) {
      this.error.textContent = 'A message can have at most 4000 characters.';
      return;
    }
    const msg = { type: 'chat_send', text };
    if (this.to.value) msg.to = this.to.value;
    const sent = this.input.value;
    this.input.value = '';
    try {
      await this.meeting.request(msg);
    } catch (err) {
      // Give the text back unless something new was typed meanwhile.
      if (!this.input.value) this.input.value = sent;
      this.error.textContent = this.meeting.describe(err);
    }
  }

  // recipients refreshes the "To" list from the participants.
  recipients() {
    const m = this.meeting;
    const current = this.to.value;
    const options = [new Option('Everyone', '')];
    const others = [...m.participants.values()].filter((p) => !m.you || p.id !== m.you.id)
      .sort((a, b) => a.name.localeCompare(b.name));
    // Rebuilding the list closes it if it is open: only when it changed.
    const signature = others.map((p) => p.id + '\u0000' + p.name).join('\u0001');
    if (signature === this.signature) return;
    this.signature = signature;
    for (const p of others) options.push(new Option(`${p.name} (privately)`, p.id));
    this.to.replaceChildren(...options);
    if (current && others.some((p) => p.id === current)) this.to.value = current;
    else if (current) this.error.textContent = 'The person you were writing to left; the message goes to everyone.';
    this.to.closest('.chat-to').classList.toggle('private', Boolean(this.to.value));
  }

  opened() {
    this.unread = 0;
    this.showBadge();
    this.scrollToEnd(true);
  }

  showBadge() {
    this.badge.hidden = this.unread === 0;
    this.badge.textContent = this.unread > 99 ? '99+' : String(this.unread);
    const toggle = document.getElementById('chat-toggle');
    toggle.setAttribute('aria-label', this.unread ? `Chat, ${this.unread} unread` : 'Chat');
  }

  updateEmpty() {
    this.empty.hidden = this.messages.size > 0;
  }

  scrollToEnd(instant = false) {
    requestAnimationFrame(() => {
      this.log.scrollTo({ top: this.log.scrollHeight, behavior: instant ? 'instant' : 'smooth' });
    });
  }
}
