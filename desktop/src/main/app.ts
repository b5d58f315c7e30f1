// The desktop's main-process logic behind both shells (Electron's ipcMain, and the development shell's local
// WebSocket): `dispatch` is the edge every renderer call crosses. It checks the sender (the app's own origin, top
// frame only), that the channel exists, and the request against the channel's schema, before any handler runs;
// failures come back as UiErrors with stable codes and never echo what was sent (it may hold a password).
//
// This module imports nothing from electron, so it runs and is tested in plain Node.

import { type Channel, type Reply, type UiEvent, isChannel, requests } from './channels.ts';
import { toUiError } from './errors.ts';
import { CoordinatorEvents } from './coordinatorEvents.ts';
import { type HandlerOptions, PUBLIC_CHANNELS, createHandlers } from './handlers.ts';
import { DesktopSession, type SessionOptions } from './session.ts';

export interface SenderInfo {
  /** The URL of the frame that sent the call ('' when it is gone). */
  url: string;
  topFrame: boolean;
}

export interface DesktopApp {
  dispatch(channel: unknown, request: unknown, sender: SenderInfo): Promise<Reply<Channel>>;
  onEvent(listener: (e: UiEvent) => void): () => void;
  close(): Promise<void>;
}

export interface DesktopAppOptions extends SessionOptions, HandlerOptions {
  /** The one origin allowed to call: app://tandem in Electron, http://127.0.0.1:<port> in the development shell. */
  appOrigin: string;
  /** How often the idle lock is checked. */
  idleCheckMs?: number;
}

const fail = (code: string, message: string, field?: string): Reply<Channel> => ({
  ok: false,
  error: { code, message, ...(field === undefined ? {} : { field }) },
});

function originOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.origin === 'null' ? `${u.protocol}//${u.host}` : u.origin;
  } catch {
    return undefined;
  }
}

export async function createDesktopApp(opts: DesktopAppOptions): Promise<DesktopApp> {
  const session = new DesktopSession(opts);
  const handlers = createHandlers(session, opts);
  const events = new CoordinatorEvents(session, opts.notify);
  const appOrigin = originOf(opts.appOrigin);
  if (!appOrigin) throw new TypeError('appOrigin must be a URL');

  // Every state change may be a sign-in or sign-out: the event socket follows it.
  session.onEvent((e) => {
    if (e.event === 'state') events.sync();
  });

  const idle = setInterval(() => {
    if (!session.idleExpired()) return;
    void session.signOut(true).then(() => session.emitState());
  }, opts.idleCheckMs ?? 15_000);
  idle.unref();

  return {
    async dispatch(channel, request, sender) {
      if (!sender.topFrame || originOf(sender.url) !== appOrigin)
        return fail('FORBIDDEN_SENDER', 'This call did not come from the Tandem window.');
      if (!isChannel(channel)) return fail('UNKNOWN_CHANNEL', 'Tandem does not know this request.');
      const parsed = requests[channel].safeParse(request ?? {});
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        if (issue?.code === 'unrecognized_keys')
          return fail('BAD_REQUEST', 'The request has a field Tandem does not expect.');
        const field = issue?.path.map(String).join('.') ?? '';
        // The schema's own words name the field and the rule; never the value, which may be a password.
        return fail('BAD_REQUEST', `Check ${field || 'the form'}: ${issue?.message ?? 'not valid'}.`, field);
      }
      if (!PUBLIC_CHANNELS.has(channel) && !session.state().user)
        return fail('UNAUTHENTICATED', 'Sign in to the coordinator first.');
      if (channel !== 'session.touch' && channel !== 'app.state') session.touch();
      try {
        const handler = handlers[channel] as (r: unknown) => Promise<unknown>;
        const value = await handler(parsed.data);
        if (channel.startsWith('session.') || channel === 'settings.update' || channel === 'device.enroll')
          session.emitState();
        return { ok: true, value } as Reply<Channel>;
      } catch (e) {
        return { ok: false, error: toUiError(e) };
      }
    },
    onEvent: (l) => session.onEvent(l),
    async close() {
      clearInterval(idle);
      events.close();
    },
  };
}
