// Copying text to the clipboard, with a fallback for browsers that refuse
// (no clipboard API, or permission denied): the text is shown selected in
// a read-only input so that the user can copy it with Ctrl+C / ⌘C.

// copyText resolves true when the text reached the clipboard. When it did
// not and fallback (an <input>) is given, the input shows the text selected.
export async function copyText(text, fallback) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      if (fallback) fallback.hidden = true;
      return true;
    } catch {
      // Fall through to the manual copy.
    }
  }
  if (fallback) {
    fallback.value = text;
    fallback.hidden = false;
    fallback.focus();
    fallback.select();
    try {
      // Deprecated, but the only way left outside secure contexts.
      if (document.execCommand('copy')) {
        fallback.hidden = true;
        return true;
      }
    } catch {
      // The text stays selected for the user to copy.
    }
  }
  return false;
}
