// The desktop's side of the WSS protocol for tests and the headless demo: a socket to the
// coordinator that sends MPCMessages with correlation ids and resolves each with its reply,
// and runs tecdsa's P2 through a whole DKG.

import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { type Identity, envelopeToJson, parseEnvelope } from '@tandem/tecdsa/envelope';
import { P2Keygen } from '@tandem/tecdsa/keygen';
import { P2Signer, type Signature } from '@tandem/tecdsa/sign';
import { type P2Share } from '@tandem/tecdsa/shares';
import { type RingPedersenSecret } from '@tandem/tecdsa/ringPedersen';
import { nativeModPow } from '@tandem/tecdsa/modpowNative';
import { systemRng } from '@tandem/tecdsa/rng';
import { FULL } from '@tandem/tecdsa/params';

export type Frame = Record<string, unknown> & { type: string };

export class MpcSocket {
  readonly events: Frame[] = [];
  /** Per signing session: what to do with its sign_result (SIGN-6 ahead of sign_complete). */
  readonly ahead = new Map<string, (f: Frame) => void>();
  private readonly waiting = new Map<string, { ok: (f: Frame) => void; fail: (e: Error) => void }>();
  private seq = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('close', (code) => {
      for (const w of this.waiting.values()) w.fail(new Error(`socket closed (${code}) before the reply`));
      this.waiting.clear();
    });
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as Frame;
      const id = typeof f['id'] === 'string' ? f['id'] : undefined;
      const ahead = f.type === 'sign_result' ? this.ahead.get(String(f['sessionId'])) : undefined;
      if (id && this.waiting.has(id)) {
        this.waiting.get(id)!.ok(f);
        this.waiting.delete(id);
      } else if (ahead) ahead(f);
      else this.events.push(f);
    });
  }

  static open(
    url: string,
    token: string | undefined,
    caCert: string,
    headers: Record<string, string> = {},
  ): Promise<MpcSocket> {
    const ws = new WebSocket(url, {
      ca: readFileSync(caCert),
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    });
    return new Promise((ok, fail) => {
      ws.once('open', () => ok(new MpcSocket(ws)));
      ws.once('unexpected-response', (_req, res) =>
        fail(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
      );
      ws.once('error', fail);
    });
  }

  /** Sends one message and waits for the frame that answers it. */
  request(msg: Record<string, unknown>): Promise<Frame> {
    const id = `m${++this.seq}`;
    return new Promise((ok, fail) => {
      this.waiting.set(id, { ok, fail });
      this.ws.send(JSON.stringify({ ...msg, id }));
    });
  }

  closed(): Promise<number> {
    return new Promise((ok) =>
      this.ws.readyState === WebSocket.CLOSED ? ok(-1) : this.ws.once('close', (c) => ok(c)),
    );
  }

  close(): void {
    this.ws.close();
  }
}

export class FrameError extends Error {
  constructor(readonly frame: Frame) {
    super(`${String(frame['code'])}: ${String(frame['message'])}`);
  }
}

const expect = (f: Frame, type: string): Frame => {
  if (f.type !== type) throw new FrameError(f);
  return f;
};

/** Runs P2's whole DKG for a wallet over the socket; returns P2's share and the completion frame. */
export async function dkgOverWss(
  socket: MpcSocket,
  device: Identity,
  signerIdentity: Uint8Array,
  rp: RingPedersenSecret,
  wallet: { id: string; dkgWalletId: string },
): Promise<{ share: P2Share; complete: Frame }> {
  const p2 = new P2Keygen(
    {
      identity: device,
      peerPublicKey: signerIdentity,
      requestId: randomBytes(32),
      rng: systemRng,
      modPow: nativeModPow()!,
      now: Date.now,
      profile: FULL,
      walletId: Buffer.from(wallet.dkgWalletId, 'hex'),
    },
    rp,
  );
  const kg2 = expect(
    await socket.request({ type: 'dkg_start', walletId: wallet.id, envelope: envelopeToJson(p2.start().send!) }),
    'dkg_round',
  );
  const kg3 = (await p2.receive(parseEnvelope(String(kg2['envelope'])))).send!;
  const kg4 = expect(
    await socket.request({ type: 'dkg_round', sessionId: kg2['sessionId'], envelope: envelopeToJson(kg3) }),
    'dkg_round',
  );
  const step = await p2.receive(parseEnvelope(String(kg4['envelope'])));
  const complete = expect(
    await socket.request({ type: 'dkg_round', sessionId: kg2['sessionId'], envelope: envelopeToJson(step.send!) }),
    'dkg_complete',
  );
  return { share: step.result!, complete };
}

/** P2's signing state machine for one withdrawal digest (fresh requestId, the real modpow). */
export function p2SignerFor(
  device: Identity,
  signerIdentity: Uint8Array,
  share: P2Share,
  m32: Uint8Array,
  encryptionMask?: bigint,
): P2Signer {
  return new P2Signer({
    identity: device,
    peerPublicKey: signerIdentity,
    requestId: randomBytes(32),
    rng: systemRng,
    modPow: nativeModPow()!,
    now: Date.now,
    profile: FULL,
    m32,
    share,
    encryptionMask,
  });
}

/**
 * Runs P2's whole signing of a prepared withdrawal over the socket; returns P2's verified signature,
 * the sign_complete frame and the sign_result that came ahead of it. P2 checks SIGN-6 as soon as
 * sign_result brings it, as the desktop does, and the two frames must carry the same envelope.
 */
export async function signOverWss(
  socket: MpcSocket,
  device: Identity,
  signerIdentity: Uint8Array,
  share: P2Share,
  withdrawalId: string,
  m32: Uint8Array,
  encryptionMask?: bigint,
): Promise<{ signature: Signature; complete: Frame; ahead: Frame | undefined }> {
  const p2 = p2SignerFor(device, signerIdentity, share, m32, encryptionMask);
  const s2 = expect(
    await socket.request({ type: 'sign_start', withdrawalId, envelope: envelopeToJson(p2.start().send!) }),
    'sign_round',
  );
  const sign3 = (await p2.receive(parseEnvelope(String(s2['envelope'])))).send!;
  const s4 = expect(
    await socket.request({ type: 'sign_round', sessionId: s2['sessionId'], envelope: envelopeToJson(sign3) }),
    'sign_round',
  );
  const sign5 = (await p2.receive(parseEnvelope(String(s4['envelope'])))).send!;
  const sessionId = String(s2['sessionId']);
  let ahead: { frame: Frame; done: ReturnType<P2Signer['receive']> } | undefined;
  socket.ahead.set(sessionId, (frame) => {
    if (ahead) return;
    ahead = { frame, done: p2.receive(parseEnvelope(String(frame['envelope']))) };
    ahead.done.catch(() => {}); // awaited below, once the reply is in
  });
  let complete: Frame;
  try {
    complete = expect(
      await socket.request({ type: 'sign_round', sessionId, envelope: envelopeToJson(sign5) }),
      'sign_complete',
    );
  } finally {
    socket.ahead.delete(sessionId);
  }
  if (ahead && ahead.frame['envelope'] !== complete['envelope'])
    throw new Error('sign_result and sign_complete differ');
  const done = await (ahead?.done ?? p2.receive(parseEnvelope(String(complete['envelope']))));
  return { signature: done.result!, complete, ahead: ahead?.frame };
}
