// The renderer's only way to main. Electron's preload exposes `window.tandem`; without it we are the page of the
// development shell and speak the same channels over its local WebSocket (socketBridge.ts). Only types come from
// main's contract, so nothing of main (zod included) ends up in the bundle.

import type { Channel, Reply, RequestOf, UiEvent } from '../../src/main/channels.ts';
import { unexpectedError } from './lib/errors.ts';
import { createSocketBridge } from './socketBridge.ts';

export interface Bridge {
  invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<Reply<C>>;
  onEvent(listener: (e: UiEvent) => void): () => void;
  /** Development shell only: the connection to main is gone and calls will fail until the page is reloaded. */
  onDisconnect?(listener: () => void): () => void;
}

/** What Electron's preload exposes through contextBridge. */
interface PreloadApi {
  invoke(channel: string, request: unknown): Promise<unknown>;
  onEvent(listener: (e: UiEvent) => void): () => void;
}

declare global {
  interface Window {
    tandem?: PreloadApi;
  }
}

function fromPreload(api: PreloadApi): Bridge {
  return {
    // Main always answers with a Reply; a rejection means the preload or main broke, and the screens then show it as
    // any other failure instead of hanging on an unhandled promise.
    async invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<Reply<C>> {
      try {
        return (await api.invoke(channel, request)) as Reply<C>;
      } catch {
        return { ok: false, error: unexpectedError() };
      }
    },
    onEvent: (listener) => api.onEvent(listener),
  };
}

export function createBridge(): Bridge {
  return window.tandem ? fromPreload(window.tandem) : createSocketBridge();
}
