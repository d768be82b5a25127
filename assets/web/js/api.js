// Calls to the Parley server's JSON API.

// ApiError is what api() throws when a request does not succeed. status is
// 0 when the server could not be reached at all.
export class ApiError extends Error {
  constructor(status, code, message, field = '') {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

// appURL resolves a path of the Parley application ('api/v1/me',
// '/c/123') against the page's <base>, which the server sets to where the
// application is: "/" or, behind a reverse proxy, a prefix such as
// "/parley/".
export function appURL(path) {
  return new URL(path.replace(/^\/+/, ''), document.baseURI).href;
}

// api sends a request to path (for example '/api/v1/me') with body, if
// given, as JSON. It resolves to the parsed JSON answer, or null when there
// is none (204), and rejects with an ApiError.
export async function api(method, path, body) {
  const init = {
    method,
    credentials: 'same-origin',
    // Sign-in state changes under the same URL; a cached answer would lie.
    cache: 'no-store',
    headers: { Accept: 'application/json' },
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }

  let response;
  let text;
  try {
    response = await fetch(appURL(path), init);
    text = await response.text();
  } catch {
    throw new ApiError(0, 'unreachable', 'Cannot reach the server. Check the connection and try again.');
  }

  let data = null;
  let parsed = text === '';
  if (!parsed) {
    try {
      data = JSON.parse(text);
      parsed = true;
    } catch {
      // Not JSON: a proxy's error page, for instance. Handled below.
    }
  }

  if (response.ok) {
    if (!parsed) {
      throw new ApiError(response.status, 'bad_response', 'The server sent an answer that is not JSON.');
    }
    return data;
  }
  const error = data && data.error;
  if (error && typeof error.message === 'string') {
    throw new ApiError(response.status, error.code || 'error', error.message, error.field || '');
  }
  throw new ApiError(response.status, 'http_' + response.status,
    `The server could not handle the request (HTTP ${response.status}).`);
}
