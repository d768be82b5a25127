// The pre-join screen: name (guests) or display name (users), PIN when the
// meeting has one, camera / microphone / speaker with a live preview and a
// level meter, and whether to join muted or with the camera off.
import { paintAvatar, setIcon, stored } from './ui.js';
import { canPickSpeaker, fillSelect, meter, playTestSound, showLevel, statusText } from './devices.js';
import { clearErrors } from '../forms.js';

// DevicePicker binds device <select>s, a test button and a level meter to
// the LocalMedia; the prejoin screen and the in-meeting settings share it.
// onTrack(source, track) hears about a newly opened device track;
// onSpeaker(id) about the chosen speaker.
export class DevicePicker {
  constructor(media, els, { onTrack, onSpeaker, wantsCamera }) {
    this.media = media;
    this.els = els;
    this.onTrack = onTrack;
    this.onSpeaker = onSpeaker;
    this.wantsCamera = wantsCamera;
    this.stopMeter = () => {};
    this.meterTrack = null;
    els.speakerField.hidden = !canPickSpeaker;
    els.camera.addEventListener('change', () => this.pickCamera());
    els.microphone.addEventListener('change', () => this.pickMicrophone());
    els.speaker.addEventListener('change', () => {
      media.setSpeaker(els.speaker.value);
      onSpeaker(els.speaker.value);
    });
    els.test.addEventListener('click', () => playTestSound(els.speaker.value || media.prefs.speaker));
  }

  async refresh() {
    const devices = await this.media.devices();
    const current = (track, pref) => (track && track.getSettings().deviceId) || pref;
    const none = (source, text) => (this.media.status[source] === 'denied' ? 'Blocked by the browser' : text);
    fillSelect(this.els.camera, devices.camera, current(this.media.camera, this.media.prefs.camera), none('camera', 'No camera found'));
    fillSelect(this.els.microphone, devices.microphone, current(this.media.microphone, this.media.prefs.microphone), none('microphone', 'No microphone found'));
    if (canPickSpeaker) {
      fillSelect(this.els.speaker, devices.speaker, this.media.prefs.speaker, 'Default speaker');
      this.els.test.disabled = false;
    }
  }

  async pickCamera() {
    const id = this.els.camera.value;
    this.media.prefs.camera = id;
    stored.set('camera', id);
    if (!this.wantsCamera()) return;
    const track = await this.media.openCamera(id, true);
    this.onTrack('camera', track);
  }

  async pickMicrophone() {
    const id = this.els.microphone.value;
    this.media.prefs.microphone = id;
    stored.set('microphone', id);
    const track = await this.media.openMicrophone(id, true);
    this.onTrack('microphone', track);
    this.meterOn();
  }

  // meterOn shows the current microphone's level (again, after a switch).
  meterOn() {
    const track = this.media.microphone;
    if (track === this.meterTrack) return;
    this.stopMeter();
    this.meterTrack = track;
    showLevel(this.els.meter, 0);
    this.stopMeter = meter(track, (level) => showLevel(this.els.meter, level));
  }

  meterOff() {
    this.stopMeter();
    this.stopMeter = () => {};
    this.meterTrack = null;
    showLevel(this.els.meter, 0);
  }
}

// deviceNotice explains missing devices, or returns '' when all is well.
export function deviceNotice(status, { micOn, cameraOn }) {
  const lines = [];
  const mic = status.microphone;
  const cam = status.camera;
  const micProblem = micOn && statusText[mic];
  const camProblem = cameraOn && statusText[cam];
  if (micProblem && camProblem && mic === cam) {
    lines.push(`Camera and microphone are ${statusText[mic]}.`);
  } else {
    if (micProblem) lines.push(`Microphone ${statusText[mic]}.`);
    if (camProblem) lines.push(`Camera ${statusText[cam]}.`);
  }
  if (lines.length === 0) return '';
  if ((micProblem && mic === 'denied') || (camProblem && cam === 'denied')) {
    const both = micProblem && camProblem && mic === 'denied' && cam === 'denied';
    lines.push(`To allow ${both ? 'them' : 'it'}, use the camera icon or the site settings in the address bar, then reload this page.`);
  } else if ((micProblem && mic === 'busy') || (camProblem && cam === 'busy')) {
    lines.push('Close the other program that uses it and try again.');
  }
  const nobodyHears = micProblem;
  const nobodySees = camProblem;
  let canStill = 'You can still join';
  if (nobodyHears && nobodySees) canStill += ': the others will not see or hear you.';
  else if (nobodyHears) canStill += ': the others will not hear you.';
  else canStill += ': the others will not see you.';
  lines.push(canStill);
  return lines.join(' ');
}

export class Prejoin {
  // onJoin({name, pin}) runs when the form is sent and valid.
  constructor(media, { onJoin }) {
    this.media = media;
    this.onJoin = onJoin;
    this.form = document.getElementById('prejoin-form');
    this.nameInput = document.getElementById('name');
    this.pinInput = document.getElementById('pin');
    this.video = document.getElementById('preview-video');
    this.micButton = document.getElementById('prejoin-mic');
    this.cameraButton = document.getElementById('prejoin-camera');
    this.notice = document.getElementById('device-notice');
    this.micOn = stored.get('micOn', '1') === '1';
    this.cameraOn = stored.get('cameraOn', '1') === '1';
    this.signedIn = false;
    this.picker = new DevicePicker(media, {
      camera: document.getElementById('camera-select'),
      microphone: document.getElementById('microphone-select'),
      speaker: document.getElementById('speaker-select'),
      speakerField: document.getElementById('speaker-field'),
      test: document.getElementById('speaker-test'),
      meter: document.getElementById('prejoin-meter'),
    }, {
      onTrack: () => this.showMedia(),
      onSpeaker: () => {},
      wantsCamera: () => this.cameraOn,
    });
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.micButton.addEventListener('click', () => this.toggleMic());
    this.cameraButton.addEventListener('click', () => this.toggleCamera());
    this.nameInput.addEventListener('input', () => this.paintAvatar());
    this.pinInput.addEventListener('input', () => {
      this.pinInput.value = this.pinInput.value.replace(/\D+/g, '');
    });
  }

  // setup fills the form for this meeting and this person.
  setup(info, me) {
    document.getElementById('prejoin-title').textContent = info.name || 'Join the meeting';
    const kinds = { room: 'Meeting room', scheduled: 'Scheduled meeting', instant: 'Meeting' };
    let lead = kinds[info.kind] || 'Meeting';
    if (info.mode === 'webinar') lead = 'Webinar';
    lead += ` · ID ${info.cid}`;
    document.getElementById('prejoin-lead').textContent = lead;
    this.signedIn = Boolean(me && me.user);
    document.getElementById('name-field').hidden = this.signedIn;
    document.getElementById('signed-in-as').hidden = !this.signedIn;
    if (this.signedIn) {
      document.getElementById('signed-in-name').textContent = me.user.display_name || me.user.login;
      this.displayName = me.user.display_name || me.user.login;
    } else if (!this.nameInput.value) {
      this.nameInput.value = stored.get('name');
    }
    document.getElementById('pin-field').hidden = !info.has_pin;
    this.paintAvatar();
  }

  get name() {
    return this.signedIn ? this.displayName : this.nameInput.value.trim();
  }

  paintAvatar() {
    paintAvatar(document.getElementById('preview-avatar'), 'self', this.name || '?');
  }

  // startDevices asks for the camera and microphone the person wants.
  async startDevices() {
    this.media.onchange = () => this.showMedia();
    await this.media.start({ microphone: true, camera: this.cameraOn });
    if (this.media.microphone) this.media.microphone.enabled = this.micOn;
    await this.picker.refresh();
    this.showMedia();
    if (navigator.mediaDevices && !this.watching) {
      this.watching = true;
      navigator.mediaDevices.addEventListener('devicechange', () => this.picker.refresh());
    }
  }

  showMedia() {
    const cam = this.media.camera;
    this.video.srcObject = cam ? new MediaStream([cam]) : null;
    if (cam) this.video.play().catch(() => {});
    document.getElementById('preview-frame').classList.toggle('has-video', Boolean(cam));
    document.getElementById('preview-off-text').textContent = cam ? '' :
      this.cameraOn ? `Camera ${statusText[this.media.status.camera] || 'starting…'}` : 'Your camera is off';
    const micWorks = Boolean(this.media.microphone);
    const micLive = micWorks && this.micOn;
    this.micButton.setAttribute('aria-pressed', String(micLive));
    this.micButton.setAttribute('aria-label', micLive ? 'Microphone on: join with the microphone on' : 'Microphone off: join muted');
    this.micButton.title = micLive ? 'Turn the microphone off' : 'Turn the microphone on';
    this.micButton.classList.toggle('off', !micLive);
    setIcon(this.micButton, micLive ? 'mic' : 'mic-off');
    const camLive = Boolean(cam) && this.cameraOn;
    this.cameraButton.setAttribute('aria-pressed', String(camLive));
    this.cameraButton.setAttribute('aria-label', camLive ? 'Camera on: join with the camera on' : 'Camera off: join with the camera off');
    this.cameraButton.title = camLive ? 'Turn the camera off' : 'Turn the camera on';
    this.cameraButton.classList.toggle('off', !camLive);
    setIcon(this.cameraButton, camLive ? 'camera' : 'camera-off');
    const text = deviceNotice(this.media.status, { micOn: this.micOn, cameraOn: this.cameraOn });
    this.notice.textContent = text;
    this.notice.hidden = text === '';
    if (micWorks) this.picker.meterOn();
    else this.picker.meterOff();
    this.picker.refresh();
  }

  async toggleMic() {
    if (!this.media.microphone) {
      // Maybe the person allowed it meanwhile, or plugged one in.
      this.micOn = true;
      await this.media.openMicrophone(this.media.prefs.microphone, false);
    } else {
      this.micOn = !this.micOn;
      this.media.microphone.enabled = this.micOn;
    }
    stored.set('micOn', this.micOn ? '1' : '0');
    this.showMedia();
  }

  async toggleCamera() {
    if (this.media.camera) {
      this.cameraOn = false;
      this.media.closeCamera('off');
    } else {
      this.cameraOn = true;
      this.cameraButton.disabled = true;
      await this.media.openCamera(this.media.prefs.camera, false);
      this.cameraButton.disabled = false;
    }
    stored.set('cameraOn', this.cameraOn ? '1' : '0');
    this.showMedia();
  }

  setBusy(busy) {
    const button = document.getElementById('join');
    button.disabled = busy;
    button.textContent = busy ? 'Joining…' : 'Join now';
    this.form.setAttribute('aria-busy', String(busy));
  }

  clear() {
    clearErrors(this.form);
  }

  // fieldError shows an error next to the name or PIN field.
  fieldError(field, message) {
    const input = field === 'pin' ? this.pinInput : this.nameInput;
    document.getElementById(field + '-error').textContent = message;
    input.setAttribute('aria-invalid', 'true');
    if (field === 'pin') document.getElementById('pin-field').hidden = false;
    input.focus();
    input.select();
  }

  submit() {
    if (this.form.getAttribute('aria-busy') === 'true') return;
    this.clear();
    const name = this.name;
    if (!this.signedIn) {
      if (!name) {
        this.fieldError('name', 'Enter your name, so that the others know who you are.');
        return;
      }
      if (Array.from(name).length > 64) {
        this.fieldError('name', 'A name can have at most 64 characters.');
        return;
      }
      stored.set('name', name);
    }
    const pin = this.pinInput.value.trim();
    const pinShown = !document.getElementById('pin-field').hidden;
    // An empty PIN goes to the server, which knows whether it applies to
    // you (the owner may not need one) and answers pin_required if it does.
    if (pinShown && pin && !/^[0-9]{4,10}$/.test(pin)) {
      this.fieldError('pin', 'A PIN is 4 to 10 digits.');
      return;
    }
    this.onJoin({ name, pin: pinShown ? pin : '' });
  }
}
