// What the meeting page tells people, by error code and end reason.
import { sentence } from '../forms.js';

// errorText: every error code of docs/protocol.md, plus the page's own
// (unreachable, closed, timeout).
export const errorText = {
  bad_message: 'The server did not understand this browser’s message. Reload the page; if it happens again, tell the administrator.',
  rate_limited: 'Too many attempts in a short time. Wait a moment, then try again.',
  not_found: 'There is no meeting at this address. Check the link, or ask the organiser for a new one.',
  not_started: 'This meeting has not started yet.',
  ended: 'This meeting has ended.',
  sign_in_required: 'This meeting is only for people with an account on this server. Sign in, then open the link again.',
  forbidden: 'You are not allowed to do that in this meeting.',
  pin_required: 'This meeting is protected by a PIN. Enter the PIN you were given.',
  wrong_pin: 'That PIN is not right. Check it and try again.',
  locked: 'The meeting is locked: nobody new can join right now. Ask a moderator to unlock it, then try again.',
  full: 'The meeting is full. Try again when someone has left.',
  refused: 'A moderator did not let you in.',
  not_joined: 'You are no longer in the meeting.',
  already_joined: 'This window is already in the meeting.',
  busy: 'That person is in another call.',
  invalid: 'Something you entered is not valid.',
  media: 'The server could not set up your audio and video.',
  internal: 'The server ran into a problem. Try again; if it happens again, tell the administrator.',
  unreachable: 'Cannot reach the server. Check your network connection and try again.',
  closed: 'The connection to the server was lost.',
  timeout: 'The server did not answer in time. Try again.',
};

// describe turns an error (SignalError, ApiError or other) into a sentence.
// Server messages are used where they say more than the code (invalid).
export function describe(err) {
  if (!err) return '';
  if (err.code === 'invalid' && err.message) return sentence(err.message);
  return errorText[err.code] || sentence(err.message) || 'Something went wrong.';
}

export const endedText = {
  ended_by_moderator: 'A moderator ended the meeting for everyone.',
  empty: 'Everyone left, so the meeting ended.',
  alone: 'Everyone else left, so the meeting ended.',
  schedule: 'The meeting’s scheduled time is over.',
  deleted: 'The organiser deleted this meeting.',
};

export const leftReasonText = {
  left: 'left',
  removed: 'was removed',
  disconnected: 'lost the connection',
};
