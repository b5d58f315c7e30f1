// The renderer's only door to main: `window.tandem`, with exactly two functions. ipcRenderer itself is never exposed
// (it would let the page send on any channel), and the IpcRendererEvent is never handed to the page (it carries the
// sender). Main validates every call against the channel table and checks the sending frame, so this file does no
// validation of its own and holds no logic worth testing.
//
// A sandboxed preload cannot be an ES module: the packager bundles this file to CommonJS (dist/electron/preload.cjs),
// which is also why it imports nothing at runtime but 'electron' (types are erased).

import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { Channel, Reply, RequestOf, UiEvent } from '../main/channels.ts';

// The same names as IPC_INVOKE and IPC_EVENT in security.ts, written out because importing security.ts would pull
// node: modules into the sandboxed preload (a test checks the two agree).
const INVOKE_CHANNEL = 'tandem:invoke';
const EVENT_CHANNEL = 'tandem:event';

/** What the renderer sees as `window.tandem` (import this type; never import this file's values). */
export interface TandemBridge {
  invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<Reply<C>>;
  /** Returns the unsubscribe function. */
  onEvent(listener: (e: UiEvent) => void): () => void;
}

const bridge: TandemBridge = {
  invoke: (channel, request) => ipcRenderer.invoke(INVOKE_CHANNEL, channel, request),
  onEvent(listener) {
    const handler = (_event: IpcRendererEvent, e: UiEvent) => listener(e);
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, handler);
    };
  },
};

contextBridge.exposeInMainWorld('tandem', bridge);
