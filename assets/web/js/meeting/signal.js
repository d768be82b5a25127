// The signalling connection: one WebSocket to /api/v1/signal speaking the
// JSON messages of docs/protocol.md (subprotocol parley.v1).
import { appURL } from '../api.js';

export const SUBPROTOCOL = 'parley.v1';

// SignalError is an `error` message from the server, or a local failure
// (code 'closed' when the socket went away, 'timeout' when no answer came).
export class SignalError extends Error {
  constructor(code, message, extra = {}) {
    super(message || code);
    this.name = 'SignalError';
    this.code = code;
    this.field = extra.field || '';
    this.retryAfter = extra.retry_after || 0;
    this.opensAt = extra.opens_at || null;
  }
}

export function signalURL() {
  const url = new URL(appURL('api/v1/signal'));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

// Answers that only answer: they go to the waiting request and nowhere else.
const answerOnly = new Set(['ok', 'pin', 'publish_answer']);

export class Signal {
  // onMessage(msg) gets every server message that is not only the answer
  // to a request; onClose({code, reason, wasOpen}) is called once when the
  // socket closes unless close() closed it.
  constructor({ onMessage, onClose, url = signalURL() }) {
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.url = url;
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map();
    this.closedByUs = false;
    this.wasOpen = false;
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  // open connects; it resolves once the socket is open and rejects when it
  // cannot be opened within timeout ms.
  open(timeout = 10000) {
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (message) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new SignalError('unreachable', message));
      };
      let ws;
      try {
        ws = new WebSocket(this.url, SUBPROTOCOL);
      } catch (err) {
        fail(err.message);
        return;
      }
      this.ws = ws;
      const timer = setTimeout(() => {
        fail('The server did not answer in time.');
        ws.close();
      }, timeout);
      ws.addEventListener('open', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.wasOpen = true;
        resolve();
      });
      ws.addEventListener('message', (event) => this.receive(event.data));
      ws.addEventListener('close', (event) => {
        fail('Cannot reach the server.');
        this.failPending(new SignalError('closed', 'The connection to the server was lost.'));
        if (!this.closedByUs && this.wasOpen && this.onClose) {
          this.onClose({ code: event.code, reason: event.reason, wasOpen: this.wasOpen });
        }
      });
    });
  }

  receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      console.warn('parley: a signalling message is not JSON', data);
      return;
    }
    if (!msg || typeof msg.type !== 'string') return;
    const waiting = msg.re ? this.pending.get(msg.re) : undefined;
    if (waiting) {
      this.pending.delete(msg.re);
      clearTimeout(waiting.timer);
      if (msg.type === 'error') {
        waiting.reject(new SignalError(msg.code, msg.message, msg));
        return;
      }
      if (!answerOnly.has(msg.type)) this.dispatch(msg);
      waiting.resolve(msg);
      return;
    }
    this.dispatch(msg);
  }

  dispatch(msg) {
    try {
      this.onMessage(msg);
    } catch (err) {
      console.error('parley: handling', msg.type, err);
    }
  }

  // send sends a message that needs no answer; it returns false when the
  // socket is not open.
  send(msg) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  // request sends msg with a fresh id and resolves with the server's answer
  // (ok or a specific message); an error answer rejects with SignalError.
  request(msg, timeout = 20000) {
    if (!this.isOpen) {
      return Promise.reject(new SignalError('closed', 'Not connected to the server.'));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SignalError('timeout', 'The server did not answer in time.'));
      }, timeout);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...msg, id }));
    });
  }

  failPending(err) {
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(err);
    }
    this.pending.clear();
  }

  // close closes the socket without calling onClose.
  close(code = 1000) {
    this.closedByUs = true;
    this.failPending(new SignalError('closed', 'Closed.'));
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(code);
  }
}
