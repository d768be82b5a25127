// Helpers shared by the pages' forms: error display and busy state.

// sentence turns a server message such as "wrong login or password" into
// one fit to show on its own: "Wrong login or password."
export function sentence(text) {
  const s = String(text || '').trim();
  if (s === '') return '';
  const capital = s[0].toUpperCase() + s.slice(1);
  return /[.!?]$/.test(capital) ? capital : capital + '.';
}

// A form shows its general errors in its [data-form-error] element and an
// error about field x in [data-error-for="x"], next to the input named x.

export function clearErrors(form) {
  for (const el of form.querySelectorAll('[data-error-for], [data-form-error]')) {
    el.textContent = '';
  }
  for (const input of form.querySelectorAll('[aria-invalid]')) {
    input.removeAttribute('aria-invalid');
  }
}

export function showFormError(form, message) {
  form.querySelector('[data-form-error]').textContent = sentence(message);
}

// showFieldError marks the named field invalid and moves focus to it, so
// that a screen reader reads the error with the field. It returns false
// when the form has no such field.
export function showFieldError(form, name, message, focus = true) {
  let input = form.elements.namedItem(name);
  // A group of radio buttons or check boxes: mark and focus the first.
  if (typeof RadioNodeList !== 'undefined' && input instanceof RadioNodeList) input = input[0];
  const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
  if (!input || !slot) return false;
  slot.textContent = sentence(message);
  input.setAttribute('aria-invalid', 'true');
  if (focus) input.focus();
  return true;
}

// setBusy disables the submit button while a request runs and shows
// busyLabel on it meanwhile.
export function setBusy(form, busy, busyLabel) {
  const button = form.querySelector('button[type="submit"]');
  if (!button.dataset.label) button.dataset.label = button.textContent;
  button.disabled = busy;
  button.textContent = busy ? busyLabel : button.dataset.label;
  form.setAttribute('aria-busy', String(busy));
}
