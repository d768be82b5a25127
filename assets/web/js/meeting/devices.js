// The local camera and microphone: asking for them, switching devices,
// the microphone level meter and the speaker test sound.
import { stored } from './ui.js';

// Why a source has no track: ok (it has one), off (the user turned it off),
// denied (no permission), missing (no such device), busy (another program
// holds it), unsupported (no media in this browser or page), error.
export const statusText = {
  denied: 'blocked by the browser',
  missing: 'not found',
  busy: 'in use by another program',
  unsupported: 'not available in this browser',
  error: 'not working',
};

function classify(err) {
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'SecurityError':
    case 'PermissionDeniedError':
      return 'denied';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'missing';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'busy';
    default:
      return 'error';
  }
}

function cameraConstraints(deviceId, exact) {
  const video = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30, max: 30 } };
  if (deviceId) video.deviceId = exact ? { exact: deviceId } : { ideal: deviceId };
  return video;
}

function microphoneConstraints(deviceId, exact) {
  const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  if (deviceId) audio.deviceId = exact ? { exact: deviceId } : { ideal: deviceId };
  return audio;
}

async function permissionState(name) {
  try {
    return (await navigator.permissions.query({ name })).state;
  } catch {
    return 'unknown';
  }
}

let sharedContext = null;

// audioContext returns the page's AudioContext. Browsers start it suspended
// until the user interacts with the page; resumeAudio() runs on the first
// click or key press.
export function audioContext() {
  if (!sharedContext) {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    sharedContext = new Context();
  }
  return sharedContext;
}

export function resumeAudio() {
  if (sharedContext && sharedContext.state === 'suspended') sharedContext.resume().catch(() => {});
}

// meter measures a microphone track and calls onLevel(0…1) about 20 times
// a second. It returns a function that stops it.
export function meter(track, onLevel) {
  const context = audioContext();
  if (!context || !track) return () => {};
  const source = context.createMediaStreamSource(new MediaStream([track]));
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let smoothed = 0;
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const rms = Math.sqrt(sum / samples.length);
    const db = 20 * Math.log10(rms || 1e-8);
    const level = Math.max(0, Math.min(1, (db + 60) / 50));
    smoothed = level > smoothed ? level : smoothed * 0.8 + level * 0.2;
    onLevel(track.enabled ? smoothed : 0);
  }, 50);
  return () => {
    clearInterval(timer);
    source.disconnect();
  };
}

// showLevel draws a level (0…1) on a .level-meter element.
export function showLevel(el, level) {
  el.style.setProperty('--level', level.toFixed(3));
  el.setAttribute('aria-valuenow', String(Math.round(level * 100)));
}

export const canPickSpeaker = typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;

// playTestSound plays a short two-note chime on the given speaker.
export async function playTestSound(sinkId) {
  const context = audioContext();
  if (!context) return;
  await context.resume().catch(() => {});
  const destination = context.createMediaStreamDestination();
  const gain = context.createGain();
  gain.connect(destination);
  const start = context.currentTime + 0.05;
  [660, 880].forEach((frequency, i) => {
    const osc = context.createOscillator();
    osc.type = 'sine';
    osc.frequency.value = frequency;
    osc.connect(gain);
    osc.start(start + i * 0.35);
    osc.stop(start + i * 0.35 + 0.3);
  });
  gain.gain.setValueAtTime(0, start);
  gain.gain.linearRampToValueAtTime(0.25, start + 0.03);
  gain.gain.setValueAtTime(0.25, start + 0.6);
  gain.gain.linearRampToValueAtTime(0, start + 0.7);
  const audio = document.createElement('audio');
  audio.srcObject = destination.stream;
  if (sinkId && canPickSpeaker) await audio.setSinkId(sinkId).catch(() => {});
  await audio.play().catch(() => {});
  setTimeout(() => {
    audio.srcObject = null;
    gain.disconnect();
  }, 1200);
}

// LocalMedia holds the microphone and camera tracks and why one is missing.
export class LocalMedia {
  constructor() {
    this.microphone = null;
    this.camera = null;
    this.status = { microphone: 'unknown', camera: 'unknown' };
    this.prefs = {
      camera: stored.get('camera'),
      microphone: stored.get('microphone'),
      speaker: stored.get('speaker'),
    };
    this.onchange = () => {};
  }

  get supported() {
    return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  // start opens what is wanted, together when possible (one permission
  // prompt), else one by one so that a missing camera does not cost the
  // microphone.
  async start({ microphone = true, camera = true }) {
    if (!this.supported) {
      this.status.microphone = this.status.camera = 'unsupported';
      this.onchange();
      return;
    }
    if (!camera) this.status.camera = 'off';
    if (!microphone && !camera) return;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: microphone ? microphoneConstraints(this.prefs.microphone, false) : false,
        video: camera ? cameraConstraints(this.prefs.camera, false) : false,
      });
      for (const track of stream.getTracks()) this.adopt(track);
      this.onchange();
      return;
    } catch (err) {
      const kind = classify(err);
      if (kind === 'denied') {
        // One permission prompt is enough; ask again only for what is not
        // known to be blocked.
        const [micState, camState] = await Promise.all([permissionState('microphone'), permissionState('camera')]);
        if (microphone && micState !== 'granted') this.status.microphone = 'denied';
        if (camera && camState !== 'granted') this.status.camera = 'denied';
        if (!(microphone && micState === 'granted') && !(camera && camState === 'granted')) {
          this.onchange();
          return;
        }
      }
    }
    if (microphone && this.status.microphone !== 'denied') await this.openMicrophone(this.prefs.microphone, false);
    if (camera && this.status.camera !== 'denied') await this.openCamera(this.prefs.camera, false);
    this.onchange();
  }

  adopt(track) {
    const source = track.kind === 'audio' ? 'microphone' : 'camera';
    const old = this[source];
    if (old && old !== track) old.stop();
    this[source] = track;
    this.status[source] = 'ok';
    const settings = track.getSettings();
    if (settings.deviceId) {
      this.prefs[source] = settings.deviceId;
      stored.set(source, settings.deviceId);
    }
    track.addEventListener('ended', () => {
      if (this[source] !== track) return;
      this[source] = null;
      this.status[source] = 'missing';
      this.onchange();
    });
  }

  // openMicrophone (re)opens the microphone, deviceId exactly when exact.
  // It resolves to the new track, or null with status saying why.
  async openMicrophone(deviceId, exact = true) {
    return this.open('microphone', { audio: microphoneConstraints(deviceId, exact) });
  }

  async openCamera(deviceId, exact = true) {
    return this.open('camera', { video: cameraConstraints(deviceId, exact) });
  }

  async open(source, constraints) {
    if (!this.supported) {
      this.status[source] = 'unsupported';
      return null;
    }
    const enabled = this[source] ? this[source].enabled : true;
    // Some systems let only one program (or one track) use a camera at a
    // time: free the old device first.
    if (this[source]) {
      this[source].stop();
      this[source] = null;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      const track = stream.getTracks()[0];
      track.enabled = enabled;
      this.adopt(track);
      return track;
    } catch (err) {
      this.status[source] = classify(err);
      return null;
    }
  }

  // closeCamera stops the camera so that its light goes off.
  closeCamera(status = 'off') {
    if (this.camera) this.camera.stop();
    this.camera = null;
    this.status.camera = status;
  }

  stop() {
    if (this.microphone) this.microphone.stop();
    if (this.camera) this.camera.stop();
    this.microphone = null;
    this.camera = null;
  }

  setSpeaker(deviceId) {
    this.prefs.speaker = deviceId;
    stored.set('speaker', deviceId);
  }

  // devices lists the cameras, microphones and speakers; labels are empty
  // until the page has permission.
  async devices() {
    const result = { camera: [], microphone: [], speaker: [] };
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return result;
    let all = [];
    try {
      all = await navigator.mediaDevices.enumerateDevices();
    } catch {
      return result;
    }
    const kinds = { videoinput: 'camera', audioinput: 'microphone', audiooutput: 'speaker' };
    for (const device of all) {
      const list = result[kinds[device.kind]];
      if (!list || !device.deviceId) continue;
      list.push({ id: device.deviceId, label: device.label || `${kinds[device.kind]} ${list.length + 1}` });
    }
    return result;
  }
}

// fillSelect lists devices in a <select>, keeping selected the one in use.
export function fillSelect(select, devices, currentId, emptyText) {
  select.textContent = '';
  if (devices.length === 0) {
    select.append(new Option(emptyText, ''));
    select.disabled = true;
    return;
  }
  select.disabled = false;
  for (const device of devices) {
    select.append(new Option(device.label, device.id, false, device.id === currentId));
  }
  if (!devices.some((d) => d.id === currentId)) {
    // The device in use is the browser's default, listed as "default" or first.
    select.value = devices[0].id;
  }
}
