// The connection test page (/test): checks, without signing in, what a
// meeting needs (the signalling connection, media over UDP and over TCP,
// the relay server, camera and microphone) and says in plain words what
// fails and what to do. Tests read the outcome from window.parleySelfTest.
import { api, ApiError } from './api.js';
import { sentence } from './forms.js';
import { Signal } from './meeting/signal.js';
import { meter, resumeAudio, showLevel } from './meeting/devices.js';

// How long a connection may take before the test calls it blocked.
const CONNECT_TIMEOUT = 10000;
// How long the browser may gather candidates before the test goes on.
const GATHER_TIMEOUT = 5000;
const ROUND_TRIPS = 5;

const checkNames = ['signalling', 'udp', 'tcp', 'relay', 'devices'];
const stateWords = { running: 'Checking: ', pass: 'Passed: ', fail: 'Failed: ' };
const host = location.hostname;

const results = { done: false, checks: {} };
window.parleySelfTest = results;

const runAgain = document.getElementById('run-again');
const summary = document.getElementById('summary');
let stopDevices = () => {};

// report shows the state of one check ('running', 'pass' or 'fail') with
// a message and, on failure, advice; details go to window.parleySelfTest.
function report(name, state, message, advice = '', details = {}) {
  const item = document.getElementById('check-' + name);
  item.dataset.state = state;
  item.querySelector('.check-state').textContent = stateWords[state];
  item.querySelector('[data-message]').textContent = message;
  const adviceEl = item.querySelector('[data-advice]');
  adviceEl.textContent = advice;
  adviceEl.hidden = !advice;
  results.checks[name] = { ok: state === 'running' ? null : state === 'pass', message, advice, ...details };
}

function pass(name, message, details) {
  report(name, 'pass', message, '', details);
}

function fail(name, message, advice, details) {
  report(name, 'fail', message, advice, details);
}

// within rejects with a timeout error when promise takes longer than ms.
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(what), { name: 'TimeoutError' })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function milliseconds(ms) {
  return `${Math.max(1, Math.round(ms))}\u00a0ms`;
}

// 1. Signalling: the page came over HTTPS; the signalling WebSocket must
// answer too. A connection that has not joined may send `leave`, which the
// server answers with `ok` (docs/protocol.md).
async function checkSignalling() {
  report('signalling', 'running', 'Reaching the server…');
  const signal = new Signal({ onMessage: () => {} });
  const started = performance.now();
  try {
    await signal.open(CONNECT_TIMEOUT);
    await signal.request({ type: 'leave' }, CONNECT_TIMEOUT);
    const took = performance.now() - started;
    pass('signalling', `Reached the server over HTTPS, and its signalling connection answered in ${milliseconds(took)}.`,
      { ms: Math.round(took) });
  } catch (err) {
    fail('signalling', 'The page loaded, but the signalling connection to the server (a WebSocket) failed: you could not join meetings.',
      `A proxy or firewall between you and the server may block WebSockets. Ask your IT to allow WebSocket connections to ${host}.`,
      { error: err.message });
  } finally {
    signal.close();
  }
}

// gatheringComplete resolves once pc has all its candidates, or after ms.
function gatheringComplete(pc, ms) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (pc.iceGatheringState === 'complete') done();
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') done();
    });
  });
}

// channelOpen resolves when the data channel opens and rejects when the
// connection fails first.
function channelOpen(pc, channel) {
  return new Promise((resolve, reject) => {
    if (channel.readyState === 'open') resolve();
    channel.addEventListener('open', resolve);
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed') reject(new Error('the connection failed'));
    });
  });
}

// roundTrip measures the fastest of a few echoes over the data channel.
async function roundTrip(channel) {
  let best = Infinity;
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const sent = performance.now();
    const token = `ping ${i} ${sent}`;
    await new Promise((resolve) => {
      const onMessage = (event) => {
        if (event.data !== token) return;
        channel.removeEventListener('message', onMessage);
        resolve();
      };
      channel.addEventListener('message', onMessage);
      channel.send(token);
    });
    best = Math.min(best, performance.now() - sent);
  }
  return best;
}

// selectedPair describes the candidate pair a connection uses.
async function selectedPair(pc) {
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
  });
  if (!pair) {
    // Browsers without transport stats mark the pair itself.
    stats.forEach((s) => {
      if (s.type === 'candidate-pair' && (s.selected || s.nominated) && s.state === 'succeeded') pair = s;
    });
  }
  const local = pair && stats.get(pair.localCandidateId);
  const remote = pair && stats.get(pair.remoteCandidateId);
  return {
    protocol: local ? local.protocol : '',
    localType: local ? local.candidateType : '',
    remoteType: remote ? remote.candidateType : '',
  };
}

// serverCandidates lists the candidates of a session description.
function serverCandidates(sdp) {
  const list = [];
  for (const line of sdp.split(/\r?\n/)) {
    const m = /^a=candidate:\S+ \d+ (\S+) \d+ (\S+) (\d+) typ (\S+)/.exec(line);
    if (m) list.push({ protocol: m[1].toLowerCase(), address: m[2], port: Number(m[3]), type: m[4] });
  }
  return list;
}

function portsOf(candidates) {
  return [...new Set(candidates.map((c) => c.port))].join(', ');
}

// probe connects to the server's media over one transport and measures
// it. It resolves to {ok, ...} and never rejects.
async function probe(transport) {
  let pc;
  let channel;
  try {
    pc = new RTCPeerConnection({ iceServers: [] });
    channel = pc.createDataChannel('selftest');
  } catch {
    return { ok: false, reason: 'no-webrtc' };
  }
  try {
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc, GATHER_TIMEOUT);
    let answer;
    try {
      ({ answer } = await api('POST', 'api/v1/selftest/ice', { offer: pc.localDescription.sdp, transport }));
    } catch (err) {
      return { ok: false, reason: 'server', error: err };
    }
    const candidates = serverCandidates(answer).filter((c) => c.protocol === transport);
    if (candidates.length === 0) return { ok: false, reason: 'not-offered' };
    const ports = portsOf(candidates);
    const started = performance.now();
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    try {
      await within(channelOpen(pc, channel), CONNECT_TIMEOUT, 'no connection');
    } catch {
      return { ok: false, reason: 'blocked', ports };
    }
    const connectMs = performance.now() - started;
    const rttMs = await within(roundTrip(channel), CONNECT_TIMEOUT, 'no echo');
    const pair = await selectedPair(pc);
    return { ok: true, ports, connectMs: Math.round(connectMs), rttMs: Math.round(rttMs * 10) / 10, pair };
  } catch (err) {
    return { ok: false, reason: 'error', error: err };
  } finally {
    channel.close();
    pc.close();
  }
}

// serverProblem words a failed request to the server's test endpoints.
function serverProblem(name, err) {
  if (err instanceof ApiError && err.status === 429) {
    fail(name, 'You ran the test many times in a short while.', 'Wait a minute, then run the test again.', { error: err.message });
  } else if (err instanceof ApiError && err.status === 503) {
    fail(name, `The server cannot test its media now: ${err.message}.`,
      'Try again in a minute. If this stays, tell the administrator: nobody may be able to have audio and video.', { error: err.message });
  } else {
    fail(name, `The test could not run: ${sentence(err.message)}`, 'Run the test again. If this stays, tell the administrator.',
      { error: err.message });
  }
}

function connectedText(result) {
  const pair = result.pair.protocol ? ` (${result.pair.protocol}, ${result.pair.localType} candidate)` : '';
  return `connected in ${milliseconds(result.connectMs)}, round trip ${milliseconds(result.rttMs)}${pair}`;
}

function details(result) {
  return { pair: result.pair || null, connectMs: result.connectMs || null, rttMs: result.rttMs || null, reason: result.reason || '' };
}

// 2 and 3. Media over UDP and over TCP, tested side by side; each verdict
// depends on the other (UDP blocked matters less when TCP works).
async function checkMedia() {
  report('udp', 'running', 'Connecting…');
  report('tcp', 'running', 'Connecting…');
  const [udp, tcp] = await Promise.all([probe('udp'), probe('tcp')]);
  for (const [name, result] of [['udp', udp], ['tcp', tcp]]) {
    if (result.reason === 'no-webrtc') {
      fail(name, 'This browser cannot make audio and video connections (WebRTC).',
        'Use a current version of Firefox, Chrome, Edge or Safari.', details(result));
    } else if (result.reason === 'server' || result.reason === 'error') {
      if (result.reason === 'server') serverProblem(name, result.error);
      else fail(name, `The test failed: ${sentence(result.error.message)}`, 'Run the test again.', details(result));
    }
  }

  if (udp.ok) {
    pass('udp', `Audio and video can flow over UDP, the best way: ${connectedText(udp)}.`, details(udp));
  } else if (udp.reason === 'blocked') {
    const worksOverTCP = tcp.ok ? ': audio and video still work over TCP, but may lag' : '';
    fail('udp', `UDP is blocked on your network${worksOverTCP}.`,
      `Ask your IT to allow UDP port ${udp.ports} to ${host}.`, details(udp));
  } else if (udp.reason === 'not-offered') {
    fail('udp', 'The server offers no audio and video over UDP.',
      'Tell the administrator: the server’s media settings need a look.', details(udp));
  }

  if (tcp.ok) {
    pass('tcp', `Audio and video can also flow over TCP, for networks that block UDP: ${connectedText(tcp)}.`, details(tcp));
  } else if (tcp.reason === 'blocked') {
    if (udp.ok) {
      fail('tcp', 'TCP to the server’s media is blocked, but UDP works, so meetings work from here.',
        `Nothing to do now. On a network that blocks UDP, TCP port ${tcp.ports} to ${host} must be open.`, details(tcp));
    } else {
      fail('tcp', 'Neither UDP nor TCP reach the server’s media: you could join meetings, but nobody would see or hear you unless the relay server works.',
        `Ask your IT to allow UDP port ${udp.ports || tcp.ports}, or at least TCP port ${tcp.ports}, to ${host}.`, details(tcp));
    }
  } else if (tcp.reason === 'not-offered') {
    fail('tcp', 'This server does not offer audio and video over TCP' + (udp.ok ? ', which does not matter while UDP works.' : '.'),
      'The administrator can clear the media UDP port range in the settings: media then shares the HTTPS port, over UDP and TCP.',
      details(tcp));
  }
}

// relayOutcome gathers candidates through one TURN URL only, relay
// candidates only. icecandidateerror says why a server failed.
async function relayOutcome(server, url) {
  const pc = new RTCPeerConnection({
    iceServers: [{ urls: url, username: server.username, credential: server.credential }],
    iceTransportPolicy: 'relay',
  });
  let relayed = false;
  const errors = [];
  pc.addEventListener('icecandidate', (event) => {
    if (event.candidate && / typ relay /.test(event.candidate.candidate)) relayed = true;
  });
  pc.addEventListener('icecandidateerror', (event) => errors.push(event.errorCode));
  try {
    pc.createDataChannel('relay');
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc, CONNECT_TIMEOUT);
  } finally {
    pc.close();
  }
  let problem = '';
  if (!relayed) problem = errors.includes(401) ? 'refused' : 'unreachable';
  return { url, ok: relayed, problem, errors };
}

const relayWords = {
  '': 'works',
  refused: 'refused the user name and password (error 401)',
  unreachable: 'cannot be reached from your network',
};

// 4. The relay (TURN) server: what people behind strict firewalls use.
async function checkRelay() {
  report('relay', 'running', 'Asking the relay server for an address…');
  const list = document.getElementById('relay-list');
  list.textContent = '';
  list.hidden = true;
  let servers;
  try {
    ({ ice_servers: servers } = await api('GET', 'api/v1/selftest/ice-servers'));
  } catch (err) {
    serverProblem('relay', err);
    return;
  }
  const turn = [];
  for (const server of servers) {
    for (const url of [].concat(server.urls)) {
      if (/^turns?:/i.test(url)) turn.push([server, url]);
    }
  }
  if (turn.length === 0) {
    fail('relay', 'No relay server is set up: people behind strict firewalls cannot connect.',
      'The administrator can turn on the built-in TURN server.', { servers: [] });
    return;
  }
  let outcomes;
  try {
    outcomes = await Promise.all(turn.map(([server, url]) => relayOutcome(server, url)));
  } catch (err) {
    fail('relay', `The relay server could not be tested: ${sentence(err.message)}`, 'Run the test again.', { servers: [] });
    return;
  }
  for (const outcome of outcomes) {
    const item = document.createElement('li');
    item.dataset.ok = String(outcome.ok);
    const url = document.createElement('code');
    url.textContent = outcome.url;
    item.append(url, ' ' + relayWords[outcome.problem]);
    list.append(item);
  }
  list.hidden = false;
  const working = outcomes.filter((o) => o.ok).length;
  const found = { servers: outcomes };
  if (working === outcomes.length) {
    pass('relay', 'The relay server works: if a direct connection fails, audio and video go through it.', found);
  } else if (working > 0) {
    pass('relay', 'The relay server works, though not every way of reaching it does (below).', found);
  } else if (outcomes.every((o) => o.problem === 'refused')) {
    fail('relay', 'The relay server refused the user name and password it was given.',
      'Tell the administrator: the TURN user name or password in the settings is wrong.', found);
  } else {
    fail('relay', 'The relay server cannot be reached from your network.',
      `If direct connections fail too, ask your IT to allow ${relayPorts(outcomes)}.`, found);
  }
}

// relayPorts names what a firewall must let through to reach the TURN
// URLs: "UDP and TCP port 3478 to turn.example.com".
function relayPorts(outcomes) {
  const hosts = new Map(); // host → port → protocols
  for (const { url } of outcomes) {
    const m = /^(turns?):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?/i.exec(url);
    if (!m) continue;
    const tls = m[1].toLowerCase() === 'turns';
    const port = m[3] || (tls ? '5349' : '3478');
    const transport = (m[4] || '').toLowerCase();
    let protocols = ['UDP', 'TCP'];
    if (tls || transport === 'tcp') protocols = ['TCP'];
    else if (transport === 'udp') protocols = ['UDP'];
    if (!hosts.has(m[2])) hosts.set(m[2], new Map());
    const ports = hosts.get(m[2]);
    if (!ports.has(port)) ports.set(port, new Set());
    for (const protocol of protocols) ports.get(port).add(protocol);
  }
  const parts = [];
  for (const [name, ports] of hosts) {
    const named = [...ports].map(([port, protocols]) => `${['UDP', 'TCP'].filter((p) => protocols.has(p)).join(' and ')} port ${port}`);
    parts.push(`${named.join(' and ')} to ${name}`);
  }
  return parts.join(', and ') || 'the relay server’s ports';
}

// mediaProblem classifies a getUserMedia failure.
function mediaProblem(err) {
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'denied';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'missing';
    case 'NotReadableError':
    case 'AbortError':
      return 'busy';
    default:
      return 'error';
  }
}

async function openDevice(constraints) {
  try {
    return { stream: await navigator.mediaDevices.getUserMedia(constraints), problem: '' };
  } catch (err) {
    return { stream: null, problem: mediaProblem(err) };
  }
}

const deviceWords = {
  denied: 'is blocked: the browser was not allowed to use it',
  missing: 'was not found',
  busy: 'is in use by another program, or the system blocked it',
  error: 'does not work',
};

const deviceAdvice = {
  denied: 'Allow the camera and microphone for this site (the icon next to the address), then run the test again.',
  missing: 'Plug one in, or check that the system sees it, then run the test again.',
  busy: 'Close other programs that use it (another video call), then run the test again.',
  error: 'Try another browser, or restart the computer.',
};

// 5. Camera and microphone: both at once (one permission prompt), else
// one by one to tell which fails.
async function checkDevices() {
  report('devices', 'running', 'Asking the browser for your camera and microphone…');
  document.getElementById('device-test').hidden = true;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    fail('devices', 'This browser cannot use a camera or microphone here.',
      'Use a current version of Firefox, Chrome, Edge or Safari.', { camera: 'unsupported', microphone: 'unsupported' });
    return;
  }
  let camera = null;
  let microphone = null;
  const status = { camera: '', microphone: '' };
  const both = await openDevice({ audio: true, video: true });
  if (both.stream) {
    [camera] = both.stream.getVideoTracks();
    [microphone] = both.stream.getAudioTracks();
  } else if (both.problem === 'denied') {
    status.camera = status.microphone = 'denied';
  } else {
    const audio = await openDevice({ audio: true });
    const video = await openDevice({ video: true });
    microphone = audio.stream && audio.stream.getAudioTracks()[0];
    camera = video.stream && video.stream.getVideoTracks()[0];
    status.microphone = audio.problem;
    status.camera = video.problem;
  }
  showDevices(camera, microphone);
  const found = { camera: status.camera || 'ok', microphone: status.microphone || 'ok' };
  if (camera && microphone) {
    pass('devices', `Your camera (${camera.label || 'camera'}) and microphone (${microphone.label || 'microphone'}) work.`, found);
  } else if (status.camera === 'denied' && status.microphone === 'denied') {
    fail('devices', 'The browser is not allowed to use your camera and microphone.', deviceAdvice.denied, found);
  } else if (!camera && !microphone && status.camera === status.microphone) {
    fail('devices', `Your camera and microphone: neither works, each ${deviceWords[status.camera]}.`, deviceAdvice[status.camera], found);
  } else if (!camera && !microphone) {
    fail('devices', `Your camera ${deviceWords[status.camera]}, and your microphone ${deviceWords[status.microphone]}.`,
      deviceAdvice[status.microphone], found);
  } else if (!camera) {
    fail('devices', `Your microphone works, but your camera ${deviceWords[status.camera]}: others will hear you but not see you.`,
      deviceAdvice[status.camera], found);
  } else {
    fail('devices', `Your camera works, but your microphone ${deviceWords[status.microphone]}: others will see you but not hear you.`,
      deviceAdvice[status.microphone], found);
  }
}

// showDevices previews the camera and draws the microphone's level until
// the next run.
function showDevices(camera, microphone) {
  const tracks = [camera, microphone].filter(Boolean);
  if (tracks.length === 0) return;
  const preview = document.getElementById('preview');
  const level = document.getElementById('level');
  preview.hidden = !camera;
  preview.srcObject = camera ? new MediaStream([camera]) : null;
  level.parentElement.hidden = !microphone;
  resumeAudio();
  const stopMeter = microphone ? meter(microphone, (value) => showLevel(level, value)) : () => {};
  document.getElementById('device-test').hidden = false;
  stopDevices = () => {
    stopMeter();
    preview.srcObject = null;
    for (const track of tracks) track.stop();
  };
}

function showSummary() {
  const failed = checkNames.filter((name) => !results.checks[name].ok);
  let text;
  if (failed.length === 0) {
    text = 'All checks passed: you are ready for meetings.';
  } else if (failed.length === 1) {
    text = 'One check failed: see below what it means and what to do.';
  } else {
    text = `${failed.length} checks failed: see below what they mean and what to do.`;
  }
  summary.textContent = text;
  summary.dataset.state = failed.length === 0 ? 'pass' : 'fail';
}

async function run() {
  runAgain.disabled = true;
  results.done = false;
  stopDevices();
  stopDevices = () => {};
  summary.textContent = 'Testing…';
  summary.dataset.state = 'running';
  await Promise.all([checkSignalling(), checkMedia(), checkRelay(), checkDevices()]);
  showSummary();
  results.done = true;
  runAgain.disabled = false;
}

async function showServer() {
  try {
    const status = await api('GET', 'api/v1/status');
    const name = status.server && status.server.name;
    if (!name) return;
    document.title = `Connection test – ${name} – Parley`;
    document.getElementById('header-server-name').textContent = name;
    for (const el of document.querySelectorAll('[data-server-name]')) el.textContent = name;
  } catch {
    // The name is a nicety; the checks say what is wrong with the server.
  }
}

// The level meter's AudioContext may only start after a user gesture.
document.addEventListener('pointerdown', resumeAudio);
document.addEventListener('keydown', resumeAudio);
runAgain.addEventListener('click', run);
showServer();
run();
