// The stage: one tile per camera (everyone's, including your own mirrored
// self view) and per screen share, laid out as a gallery or with one
// speaker large. It also tells the server how big each remote video is
// drawn (`layer`), or that it is not seen at all.
import { h, icon, paintAvatar, qualityElement, setQuality, debounce } from './ui.js';

const LAYER_DEBOUNCE_MS = 300;
const PHONE_WIDTH = 600;
const MIN_TILE_WIDTH = 160;

function tileKey(participantId, source) {
  return participantId + '/' + source;
}

// moveTo re-parents a tile; a plain move pauses a playing <video>, so the
// state-preserving moveBefore is used where the browser has it.
function moveTo(parent, el) {
  if (el.parentElement === parent) return;
  if (typeof parent.moveBefore === 'function' && el.isConnected && parent.isConnected) {
    try {
      parent.moveBefore(el, null);
      return;
    } catch {
      // Fall back to a plain move.
    }
  }
  parent.append(el);
  const video = el.querySelector('video');
  if (video && video.srcObject) video.play().catch(() => {});
}

class Tile {
  constructor(stage, participant, source, self) {
    this.stage = stage;
    this.participantId = participant.id;
    this.source = source;
    this.self = self;
    this.key = tileKey(participant.id, source);
    this.media = null; // the MediaStreamTrack shown
    this.trackId = ''; // the server's track id, for `layer` (remote only)
    this.visible = false;
    this.lastLayer = '';
    this.video = h('video', { autoplay: true, playsinline: true, muted: true });
    this.video.muted = true; // sound plays through separate <audio> elements
    if (self && source === 'camera') this.video.classList.add('mirrored');
    this.avatar = h('span', { class: 'avatar', 'aria-hidden': 'true' });
    this.micIcon = icon('mic-off', 'small');
    this.micIcon.classList.add('tile-muted');
    this.nameEl = h('span', { class: 'tile-name' });
    this.quality = qualityElement();
    this.el = h('div', {
      class: 'tile' + (self ? ' self' : '') + (source === 'screen' ? ' screen' : ''),
      role: 'listitem',
      dataset: { participant: participant.id, source },
    },
    this.video,
    h('div', { class: 'tile-placeholder' }, this.avatar),
    h('div', { class: 'tile-info' }, this.micIcon, this.nameEl),
    this.quality);
    this.video.addEventListener('resize', () => this.stage.scheduleFit());
    this.update(participant);
  }

  update(participant) {
    this.participant = participant;
    const name = participant.name || 'Someone';
    let label;
    if (this.source === 'screen') label = this.self ? 'Your screen' : `${name}’s screen`;
    else label = this.self ? `${name} (you)` : name;
    this.nameEl.textContent = label;
    paintAvatar(this.avatar, participant.id, name);
    const micMuted = this.source === 'camera' && participant.muted && participant.muted.microphone;
    this.micIcon.style.display = micMuted ? '' : 'none';
    this.el.setAttribute('aria-label', label + (micMuted ? ', microphone off' : ''));
    this.showVideoOrAvatar();
  }

  setMedia(track, trackId = '') {
    if (this.media === track && this.trackId === trackId) return;
    if (this.media) {
      this.media.removeEventListener('mute', this.onMediaChange);
      this.media.removeEventListener('unmute', this.onMediaChange);
    }
    this.media = track;
    this.trackId = trackId;
    this.lastLayer = '';
    if (track) {
      this.onMediaChange = () => this.showVideoOrAvatar();
      track.addEventListener('mute', this.onMediaChange);
      track.addEventListener('unmute', this.onMediaChange);
      this.video.srcObject = new MediaStream([track]);
      this.video.play().catch(() => {});
    } else {
      this.video.srcObject = null;
    }
    this.showVideoOrAvatar();
    this.stage.reportLayer(this);
  }

  showVideoOrAvatar() {
    const p = this.participant;
    const cameraOff = this.source === 'camera' && p.muted && p.muted.camera;
    // A remote track is "muted" until its first frames arrive.
    const flowing = this.media && this.media.readyState === 'live' && (this.self || !this.media.muted);
    this.el.classList.toggle('has-video', Boolean(flowing && !cameraOff));
  }

  remove() {
    this.setMedia(null);
    this.el.remove();
  }
}

export class Stage {
  // onLayer(trackId, {width, height} | {paused: true}) reports what a
  // remote video needs.
  constructor({ stage, main, tiles, onLayer }) {
    this.stageEl = stage;
    this.mainEl = main;
    this.tilesEl = tiles;
    this.onLayer = onLayer;
    this.tiles = new Map();
    this.layout = 'gallery';
    this.speaker = '';
    this.selfId = '';
    this.mainKey = '';
    this.sendLayer = new Map(); // trackId → debounced sender
    this.resize = new ResizeObserver((entries) => {
      for (const entry of entries) {
        if (entry.target === this.stageEl) {
          this.scheduleFit();
          continue;
        }
        const tile = this.tileOf(entry.target);
        if (tile) this.reportLayer(tile);
      }
    });
    this.visibility = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const tile = this.tileOf(entry.target);
        if (!tile) continue;
        tile.visible = entry.isIntersecting;
        this.reportLayer(tile);
      }
    }, { threshold: 0 });
    this.resize.observe(this.stageEl);
    document.addEventListener('visibilitychange', () => {
      for (const tile of this.tiles.values()) this.reportLayer(tile);
    });
    this.fitPending = false;
  }

  tileOf(el) {
    return this.tiles.get(tileKey(el.dataset.participant, el.dataset.source));
  }

  get(participantId, source) {
    return this.tiles.get(tileKey(participantId, source));
  }

  // upsert makes sure a tile exists for a participant's source.
  upsert(participant, source, self = false) {
    const key = tileKey(participant.id, source);
    let tile = this.tiles.get(key);
    if (tile) {
      tile.update(participant);
      return tile;
    }
    tile = new Tile(this, participant, source, self);
    this.tiles.set(key, tile);
    this.tilesEl.append(tile.el);
    this.resize.observe(tile.el);
    this.visibility.observe(tile.el);
    this.arrange();
    return tile;
  }

  updateParticipant(participant) {
    for (const source of ['camera', 'screen']) {
      const tile = this.get(participant.id, source);
      if (tile) tile.update(participant);
    }
  }

  remove(participantId, source) {
    const key = tileKey(participantId, source);
    const tile = this.tiles.get(key);
    if (!tile) return;
    this.resize.unobserve(tile.el);
    this.visibility.unobserve(tile.el);
    tile.remove();
    this.tiles.delete(key);
    this.arrange();
  }

  removeParticipant(participantId) {
    this.remove(participantId, 'camera');
    this.remove(participantId, 'screen');
  }

  clear() {
    for (const tile of [...this.tiles.values()]) this.remove(tile.participantId, tile.source);
    this.sendLayer.clear();
  }

  setSpeaker(participantId) {
    this.speaker = participantId || '';
    for (const tile of this.tiles.values()) {
      tile.el.classList.toggle('speaking', tile.source === 'camera' && !tile.self && tile.participantId === this.speaker);
    }
    if (this.layout === 'speaker') this.arrange();
  }

  // setSelfSpeaking lights your own tile from the local microphone level.
  setSelfSpeaking(speaking) {
    const tile = this.get(this.selfId, 'camera');
    if (tile) tile.el.classList.toggle('speaking', speaking);
  }

  setQuality(participantId, score, detail) {
    const tile = this.get(participantId, 'camera');
    if (tile) setQuality(tile.quality, score, tile.self ? 'You' : tile.participant.name, detail);
  }

  setLayout(layout) {
    this.layout = layout;
    this.stageEl.dataset.layout = layout;
    this.arrange();
  }

  // order: screen shares first (others' before yours), then you, then the
  // others in the order they joined.
  ordered() {
    const rank = (tile) => {
      if (tile.source === 'screen') return tile.self ? 1 : 0;
      return tile.self ? 2 : 3;
    };
    return [...this.tiles.values()].sort((a, b) => rank(a) - rank(b) ||
      String(a.participant.joined_at || '').localeCompare(String(b.participant.joined_at || '')) ||
      a.key.localeCompare(b.key));
  }

  // mainTile picks who is large in the speaker layout: a screen share, the
  // active speaker, the last one, anyone else, or you when alone.
  mainTile(list) {
    const others = list.filter((t) => !t.self);
    const screen = others.find((t) => t.source === 'screen');
    if (screen) return screen;
    const speaking = others.find((t) => t.source === 'camera' && t.participantId === this.speaker);
    if (speaking) return speaking;
    const previous = others.find((t) => t.key === this.mainKey);
    if (previous) return previous;
    return others.find((t) => t.source === 'camera') || list[0] || null;
  }

  arrange() {
    const list = this.ordered();
    list.forEach((tile, i) => tile.el.style.setProperty('order', String(i)));
    let main = null;
    if (this.layout === 'speaker') main = this.mainTile(list);
    this.mainKey = main ? main.key : '';
    for (const tile of list) {
      const isMain = tile === main;
      tile.el.classList.toggle('main', isMain);
      moveTo(isMain ? this.mainEl : this.tilesEl, tile.el);
    }
    this.stageEl.dataset.count = String(list.length);
    this.stageEl.classList.toggle('alone', list.length <= 1);
    this.scheduleFit();
  }

  scheduleFit() {
    if (this.fitPending) return;
    this.fitPending = true;
    requestAnimationFrame(() => {
      this.fitPending = false;
      this.fit();
    });
  }

  // fit sizes the gallery so that every tile is as large as possible
  // without scrolling (desktop), or uses one or two columns (phones).
  fit() {
    const el = this.tilesEl;
    const n = el.children.length;
    if (n === 0) return;
    const style = getComputedStyle(el);
    const gap = parseFloat(style.columnGap) || 8;
    const width = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const height = el.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    if (this.layout !== 'gallery' || width <= 0 || height <= 0) {
      el.style.removeProperty('--tile-w');
      el.style.removeProperty('--tile-h');
      return;
    }
    let tileW;
    let tileH;
    if (width < PHONE_WIDTH) {
      const cols = n <= 2 ? 1 : 2;
      const rows = Math.ceil(n / cols);
      tileW = (width - gap * (cols - 1)) / cols;
      tileH = Math.max((height - gap * (rows - 1)) / rows, cols === 1 ? 180 : tileW);
    } else {
      const aspect = 16 / 9;
      let best = 0;
      for (let cols = 1; cols <= n; cols++) {
        const rows = Math.ceil(n / cols);
        const w = Math.min((width - gap * (cols - 1)) / cols, ((height - gap * (rows - 1)) / rows) * aspect);
        if (w > best) best = w;
      }
      tileW = Math.max(Math.floor(best), Math.min(MIN_TILE_WIDTH, width));
      tileH = tileW / aspect;
    }
    el.style.setProperty('--tile-w', Math.floor(tileW) + 'px');
    el.style.setProperty('--tile-h', Math.floor(tileH) + 'px');
  }

  // reportLayer works out what a remote video needs and tells the server,
  // at most every 300 ms per track and only when it changed.
  reportLayer(tile) {
    if (tile.self || !tile.trackId) return;
    let send = this.sendLayer.get(tile.trackId);
    if (!send) {
      send = debounce((t) => this.flushLayer(t), LAYER_DEBOUNCE_MS);
      this.sendLayer.set(tile.trackId, send);
    }
    send(tile);
  }

  flushLayer(tile) {
    if (!tile.trackId || !this.tiles.has(tile.key)) return;
    const rect = tile.el.getBoundingClientRect();
    const shown = tile.visible && !document.hidden && rect.width > 0 && rect.height > 0 && tile.el.isConnected;
    let layer;
    if (!shown) {
      layer = { paused: true };
    } else {
      const dpr = window.devicePixelRatio || 1;
      layer = {
        width: Math.max(1, Math.min(8192, Math.round(rect.width * dpr))),
        height: Math.max(1, Math.min(8192, Math.round(rect.height * dpr))),
      };
    }
    const text = JSON.stringify(layer);
    if (text === tile.lastLayer) return;
    tile.lastLayer = text;
    this.onLayer(tile.trackId, layer);
  }

  // resendLayers forgets what was sent, so that every remote video reports
  // again (after a reconnect).
  resendLayers() {
    for (const tile of this.tiles.values()) {
      tile.lastLayer = '';
      this.reportLayer(tile);
    }
  }

  // layers lists what was last reported per track (for tests).
  layers() {
    const out = {};
    for (const tile of this.tiles.values()) {
      if (tile.trackId && tile.lastLayer) out[tile.trackId] = JSON.parse(tile.lastLayer);
    }
    return out;
  }
}
