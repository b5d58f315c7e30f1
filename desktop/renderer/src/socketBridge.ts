// The development shell's bridge: the page was opened as http://127.0.0.1:PORT/#k=<secret>, and the secret, sent as
// a WebSocket subprotocol, is what lets this page (and no other local page) call main. It is moved out of the
// address bar at once and kept for this tab only, so a reload reconnects but the URL never shows or shares it.

import type { Channel, Reply, RequestOf, UiError, UiEvent } from '../../src/main/channels.ts';
import type { Bridge } from './bridge.ts';
import { DISCONNECTED_MESSAGE } from './lib/errors.ts';

const SECRET_KEY = 'tandem.k';

const DISCONNECTED: UiError = { code: 'DISCONNECTED', message: DISCONNECTED_MESSAGE };

function takeSecret(): string | null {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('k');
  try {
    if (fromHash) {
      sessionStorage.setItem(SECRET_KEY, fromHash);
      history.replaceState(history.state, '', location.pathname + location.search);
      return fromHash;
    }
    return sessionStorage.getItem(SECRET_KEY);
  } catch {
    return fromHash;
  }
}

type Pending = (reply: Reply<Channel>) => void;

export function createSocketBridge(): Bridge {
  const pending = new Map<number, Pending>();
  const queued: string[] = [];
  const eventListeners = new Set<(e: UiEvent) => void>();
  const closeListeners = new Set<() => void>();
  let nextId = 1;
  let closed = false;
  let socket: WebSocket | null = null;

  const close = () => {
    if (closed) return;
    closed = true;
    queued.length = 0;
    for (const resolve of pending.values()) resolve({ ok: false, error: DISCONNECTED });
    pending.clear();
    for (const l of closeListeners) l();
  };

  const secret = takeSecret();
  if (secret) {
    try {
      socket = new WebSocket(`ws://${location.host}/ipc`, ['tandem-ipc', `k.${secret}`]);
    } catch {
      // A secret that is not a valid subprotocol token: the link was damaged. Same outcome as a refused connection.
      socket = null;
    }
  }

  if (!socket) {
    closed = true;
  } else {
    const ws = socket;
    ws.addEventListener('open', () => {
      for (const frame of queued.splice(0)) ws.send(frame);
    });
    ws.addEventListener('close', close);
    ws.addEventListener('error', close);
    ws.addEventListener('message', (msg) => {
      if (typeof msg.data !== 'string') return;
      let frame: unknown;
      try {
        frame = JSON.parse(msg.data);
      } catch {
        return;
      }
      if (typeof frame !== 'object' || frame === null) return;
      const f = frame as { id?: unknown; reply?: unknown; event?: unknown };
      if (typeof f.id === 'number' && typeof f.reply === 'object' && f.reply !== null) {
        const resolve = pending.get(f.id);
        pending.delete(f.id);
        resolve?.(f.reply as Reply<Channel>);
      } else if (typeof f.event === 'object' && f.event !== null) {
        for (const l of eventListeners) l(f.event as UiEvent);
      }
    });
  }

  return {
    invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<Reply<C>> {
      if (closed || !socket) return Promise.resolve({ ok: false, error: DISCONNECTED });
      const id = nextId++;
      const frame = JSON.stringify({ id, channel, request });
      return new Promise<Reply<C>>((resolve) => {
        pending.set(id, resolve as Pending);
        if (socket?.readyState === WebSocket.OPEN) socket.send(frame);
        else queued.push(frame);
      });
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    onDisconnect(listener) {
      // Late subscribers still learn that the connection is already gone.
      if (closed) queueMicrotask(listener);
      closeListeners.add(listener);
      return () => closeListeners.delete(listener);
    },
  };
}
