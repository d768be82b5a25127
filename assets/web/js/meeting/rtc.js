// The two RTCPeerConnections of docs/protocol.md#media: publish (we offer,
// the server answers; microphone, camera in simulcast, screen) and
// subscribe (the server offers, we answer; everyone else's tracks).

// Camera layers: quarter, half and full resolution.
export const SIMULCAST = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500000 },
  { rid: 'f', maxBitrate: 1500000 },
];

// rtcConfig turns joined.ice_servers and joined.ice_transport_policy
// into an RTCConfiguration.
export function rtcConfig(iceServers, policy) {
  const servers = [];
  for (const server of iceServers || []) {
    if (!server || !server.urls) continue;
    const entry = { urls: server.urls };
    if (server.username) entry.username = server.username;
    if (server.credential) entry.credential = server.credential;
    servers.push(entry);
  }
  return { iceServers: servers, bundlePolicy: 'max-bundle', iceTransportPolicy: policy === 'relay' ? 'relay' : 'all' };
}

const TROUBLE_AFTER_MS = 3000;

// Connection is what both directions share: trickled candidates (queued
// until the remote description is set) and a watch on the ICE state that
// reports trouble: 'failed', or 'disconnected' for more than 3 s.
class Connection {
  constructor(target, config, { sendCandidate, onTrouble, onHealthy, onCandidateError }) {
    this.target = target;
    this.pc = new RTCPeerConnection(config);
    this.queued = [];
    this.chain = Promise.resolve();
    this.closed = false;
    this.connectedOnce = false;
    this.troubleTimer = 0;
    this.onTrouble = onTrouble;
    this.onHealthy = onHealthy;
    this.pc.addEventListener('icecandidate', (event) => {
      const c = event.candidate;
      // Only the documented RTCIceCandidateInit fields: the server refuses
      // unknown ones.
      sendCandidate(target, c && c.candidate
        ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex }
        : null);
    });
    this.pc.addEventListener('iceconnectionstatechange', () => this.watch());
    // A STUN or TURN server that failed (a TURN password refused: 401).
    if (onCandidateError) this.pc.addEventListener('icecandidateerror', onCandidateError);
  }

  get iceState() {
    return this.pc.iceConnectionState;
  }

  get healthy() {
    return this.iceState === 'connected' || this.iceState === 'completed';
  }

  watch() {
    if (this.closed) return;
    clearTimeout(this.troubleTimer);
    const state = this.iceState;
    if (this.healthy) {
      this.connectedOnce = true;
      this.onHealthy(this);
    } else if (state === 'failed') {
      this.onTrouble(this, state);
    } else if (state === 'disconnected') {
      this.troubleTimer = setTimeout(() => {
        if (this.iceState === 'disconnected') this.onTrouble(this, 'disconnected');
      }, TROUBLE_AFTER_MS);
    }
  }

  // addRemoteCandidate takes a candidate from the server; null ends them.
  addRemoteCandidate(init) {
    if (this.closed) return;
    if (!init || !init.candidate) return;
    if (!this.pc.remoteDescription) {
      this.queued.push(init);
      return;
    }
    this.pc.addIceCandidate(init).catch((err) => console.warn('parley:', this.target, 'candidate', err));
  }

  flushCandidates() {
    const queued = this.queued;
    this.queued = [];
    for (const init of queued) this.addRemoteCandidate(init);
  }

  // serial runs fn after everything queued before it, whatever their fate.
  serial(fn) {
    const run = () => (this.closed ? undefined : fn());
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => {});
    return result;
  }

  close() {
    this.closed = true;
    clearTimeout(this.troubleTimer);
    this.pc.close();
  }
}

export class Publisher extends Connection {
  // request(msg) sends a request and resolves with its answer.
  constructor(config, hooks, request) {
    super('publish', config, hooks);
    this.request = request;
    this.transceivers = new Map(); // source → RTCRtpTransceiver
    this.stream = new MediaStream();
    this.lastLost = 0;
    this.lastSent = 0;
  }

  // setTrack sends track as source (null: send nothing for now). It
  // resolves true when the change needs a new offer (a new m= line, or one
  // that comes back from inactive).
  async setTrack(source, track) {
    const tx = this.transceivers.get(source);
    if (tx) {
      await tx.sender.replaceTrack(track);
      if (track && tx.direction !== 'sendonly') {
        tx.direction = 'sendonly';
        return true;
      }
      return false;
    }
    if (!track) return false;
    const init = { direction: 'sendonly', streams: [this.stream] };
    if (source === 'camera') init.sendEncodings = SIMULCAST.map((e) => ({ ...e }));
    if (source === 'screen' && 'contentHint' in track) track.contentHint = 'detail';
    this.transceivers.set(source, this.pc.addTransceiver(track, init));
    return true;
  }

  // stopSource ends a source's m= line (the screen share): it stays in the
  // SDP as inactive and is reused by the next share. Resolves true when a
  // new offer is needed.
  async stopSource(source) {
    const tx = this.transceivers.get(source);
    if (!tx) return false;
    await tx.sender.replaceTrack(null);
    if (tx.direction === 'inactive') return false;
    tx.direction = 'inactive';
    return true;
  }

  // abandon undoes setTrack after the server refused the offer (which was
  // rolled back): a new m= line is dropped, a reused one goes back to
  // inactive.
  abandon(source) {
    const tx = this.transceivers.get(source);
    if (!tx) return;
    tx.sender.replaceTrack(null).catch(() => {});
    if (tx.mid) {
      tx.direction = 'inactive';
      return;
    }
    this.transceivers.delete(source);
    try {
      tx.stop();
    } catch {
      // Already stopped.
    }
  }

  get hasMedia() {
    return this.transceivers.size > 0;
  }

  // tracks names each m= line that sends (docs/protocol.md: publish).
  tracks() {
    const all = [];
    const sending = [];
    for (const [source, tx] of this.transceivers) {
      if (!tx.mid) continue;
      all.push({ mid: tx.mid, source });
      if (tx.direction !== 'inactive') sending.push({ mid: tx.mid, source });
    }
    // The server wants at least one entry; an offer whose only m= line just
    // went inactive still names it.
    return sending.length > 0 ? sending : all;
  }

  // negotiate sends a publish offer and applies the answer, one at a time.
  negotiate({ iceRestart = false } = {}) {
    return this.serial(async () => {
      if (!this.hasMedia) return;
      const pc = this.pc;
      const offer = await pc.createOffer({ iceRestart });
      await pc.setLocalDescription(offer);
      let answer;
      try {
        answer = await this.request({ type: 'publish', sdp: pc.localDescription.sdp, tracks: this.tracks() });
      } catch (err) {
        if (!this.closed && pc.signalingState === 'have-local-offer') {
          await pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
        }
        throw err;
      }
      if (this.closed) return;
      await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
      this.flushCandidates();
    });
  }

  // quality measures the uplink: round trip time and packet loss since the
  // last call, and a score from 1 (bad) to 5 (excellent).
  async quality() {
    if (this.closed) return null;
    if (!this.healthy) return { score: this.connectedOnce ? 1 : 0, rtt: null, loss: null };
    const stats = await this.pc.getStats();
    let rtt = null;
    let lost = 0;
    let sent = 0;
    stats.forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && typeof s.currentRoundTripTime === 'number') {
        rtt = s.currentRoundTripTime;
      } else if (s.type === 'remote-inbound-rtp') {
        lost += s.packetsLost || 0;
        if (rtt === null && typeof s.roundTripTime === 'number') rtt = s.roundTripTime;
      } else if (s.type === 'outbound-rtp') {
        sent += s.packetsSent || 0;
      }
    });
    const dLost = Math.max(0, lost - this.lastLost);
    const dSent = Math.max(0, sent - this.lastSent);
    this.lastLost = lost;
    this.lastSent = sent;
    const loss = dSent + dLost > 0 ? dLost / (dSent + dLost) : 0;
    const ms = rtt === null ? 0 : rtt * 1000;
    let score = 5;
    if (ms > 1000 || loss > 0.2) score = 1;
    else if (ms > 500 || loss > 0.1) score = 2;
    else if (ms > 300 || loss > 0.05) score = 3;
    else if (ms > 150 || loss > 0.02) score = 4;
    return { score, rtt: rtt === null ? null : Math.round(ms), loss };
  }
}

export class Subscriber extends Connection {
  // send(msg) sends a message; onTracks(list) gets the remote tracks being
  // received after each change: {mid, participant, source, kind, track,
  // media: MediaStreamTrack}.
  constructor(config, hooks, send, onTracks) {
    super('subscribe', config, hooks);
    this.send = send;
    this.onTracks = onTracks;
    this.byMid = new Map();
    this.pc.addEventListener('track', () => this.sync());
  }

  // handleOffer answers a subscribe_offer.
  handleOffer(msg) {
    return this.serial(async () => {
      const pc = this.pc;
      // The map must be in place before setRemoteDescription fires `track`.
      this.byMid = new Map((msg.tracks || []).map((t) => [String(t.mid), t]));
      await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
      this.flushCandidates();
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      if (this.closed) return;
      this.send({ type: 'subscribe_answer', sdp: pc.localDescription.sdp });
      this.sync();
    });
  }

  // sync finds, for each m= line, who it carries (via transceiver.mid).
  sync() {
    if (this.closed) return;
    const list = [];
    for (const tx of this.pc.getTransceivers()) {
      if (!tx.mid) continue;
      const info = this.byMid.get(tx.mid);
      if (!info) continue;
      const direction = tx.currentDirection;
      if (direction && direction !== 'recvonly' && direction !== 'sendrecv') continue;
      list.push({ ...info, kind: info.kind || tx.receiver.track.kind, media: tx.receiver.track });
    }
    this.onTracks(list);
  }
}
