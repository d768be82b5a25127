// The first-run page at /setup/<token>: creates the owner account.
import { api } from './api.js';
import { clearErrors, sentence, setBusy, showFieldError, showFormError } from './forms.js';

const views = ['loading', 'problem', 'form', 'done'];

const form = document.getElementById('setup-form');
const token = tokenFromPath(location.pathname);

function tokenFromPath(pathname) {
  const last = pathname.split('/').pop();
  try {
    return decodeURIComponent(last);
  } catch {
    return '';
  }
}

function show(view, focus) {
  for (const name of views) {
    document.getElementById('view-' + name).hidden = name !== view;
  }
  if (focus) focus.focus();
}

function showServerName(name) {
  document.getElementById('header-server-name').textContent = name || '';
  if (name) document.title = `Set up ${name} – Parley`;
  for (const el of document.querySelectorAll('[data-server-name]')) {
    el.textContent = name || 'this server';
  }
}

// showProblem replaces the page with an error. kind is 'invalid' (the link
// is unknown), 'gone' (used, expired, or the server is set up: signing in
// is what is left) or 'failed' (anything else, worth a retry).
function showProblem(kind, message) {
  const titles = {
    invalid: 'This setup link is not valid',
    gone: 'This setup link cannot be used',
    failed: 'Something went wrong',
  };
  const title = document.getElementById('problem-title');
  title.textContent = titles[kind];
  document.getElementById('problem-advice').hidden = kind !== 'invalid';
  document.getElementById('problem-sign-in').hidden = kind !== 'gone';
  document.getElementById('problem-retry').hidden = kind !== 'failed';
  show('problem', title);
  document.getElementById('problem-message').textContent = sentence(message);
}

function problemKind(err) {
  if (err.status === 404) return 'invalid';
  if (err.status === 410) return 'gone';
  return 'failed';
}

function policyText(policy) {
  if (!policy || !policy.min_length) return '';
  let text = `At least ${policy.min_length} characters`;
  if (policy.min_classes > 1) {
    text += ` and ${policy.min_classes} of: lower-case letters, upper-case letters, digits, other symbols`;
  }
  return text + '.';
}

async function start() {
  if (!token) {
    showProblem('invalid', '');
    return;
  }
  show('loading');
  let info;
  try {
    info = await api('GET', '/api/v1/setup/' + encodeURIComponent(token));
  } catch (err) {
    showProblem(problemKind(err), err.message);
    return;
  }
  showServerName(info.server_name);
  const hint = document.getElementById('setup-password-hint');
  hint.textContent = policyText(info.password_policy);
  hint.hidden = hint.textContent === '';
  show('form', form.elements.login);
}

// checkForm finds what can be told without asking the server, and returns
// the errors by field name.
function checkForm(values, confirm) {
  const errors = {};
  if (!values.login) errors.login = 'Enter a login.';
  if (!values.display_name) errors.display_name = 'Enter a display name.';
  if (!values.password) errors.password = 'Choose a password.';
  else if (confirm !== values.password) errors.confirm = 'The two passwords do not match.';
  return errors;
}

async function submit(event) {
  event.preventDefault();
  if (form.getAttribute('aria-busy') === 'true') return;
  clearErrors(form);
  const fields = form.elements;
  const values = {
    token,
    login: fields.login.value.trim(),
    display_name: fields.display_name.value.trim(),
    email: fields.email.value.trim(),
    password: fields.password.value,
  };
  const errors = Object.entries(checkForm(values, fields.confirm.value));
  if (errors.length > 0) {
    errors.forEach(([name, message], i) => showFieldError(form, name, message, i === 0));
    return;
  }

  setBusy(form, true, 'Creating the account…');
  try {
    await api('POST', '/api/v1/setup', values);
    form.reset();
    show('done', document.getElementById('done-title'));
  } catch (err) {
    if (err.status === 404 || err.status === 410) {
      showProblem(problemKind(err), err.message);
    } else if (!(err.field && showFieldError(form, err.field, err.message))) {
      showFormError(form, err.message);
    }
  } finally {
    setBusy(form, false);
  }
}

form.addEventListener('submit', submit);
document.getElementById('problem-retry').addEventListener('click', start);
start();
