// The landing page: sign in, or say who is signed in.
import { api, ApiError } from '/assets/js/api.js';
import { clearErrors, sentence, setBusy, showFieldError, showFormError } from '/assets/js/forms.js';

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

// show makes one view visible. focus, if given, is the element that gets
// focus, so that keyboard and screen reader users land in the new view.
function show(view, focus) {
  for (const name of views) {
    document.getElementById('view-' + name).hidden = name !== view;
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

function showSignIn() {
  signInForm.reset();
  clearErrors(signInForm);
  show('sign-in', signInForm.elements.login);
}

function showSignedIn(user) {
  document.getElementById('user-name').textContent = user.display_name || user.login;
  document.getElementById('user-role').textContent = roleNames[user.role] || user.role;
  signOutError.textContent = '';
  show('signed-in', document.getElementById('signed-in-title'));
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
    showSignedIn(me.user);
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
    showSignedIn(me.user);
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

signInForm.addEventListener('submit', signIn);
signOutButton.addEventListener('click', signOut);
document.getElementById('retry').addEventListener('click', start);
start();
