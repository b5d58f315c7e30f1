// The coordinator's client of the bank signer (MPCSigner over mutual TLS). Every call, and every
// step of a signing stream, has a deadline; only the read-only calls are retried, because a
// retried start would spend another permit and a retried round could race the original. Failures
// become SignerCallError with the signer's stable code, or SIGNER_UNAVAILABLE when it could not be
// reached. A signing runs on one Sign stream (its three steps cost one call's setup).

import { readFileSync } from 'node:fs';
import { Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { SigningStream } from '@tandem/proto/signStream';
import {
  MPCSignerClient,
  type FinalizeDKGResponse,
  type FinalizeSigningResponse,
  type GetKeysetResponse,
  type GetSigningResultResponse,
  type GetSignerInfoResponse,
  type RebindDeviceResponse,
  type RebindPermit,
  type StartDKGRequest,
  type StartDKGResponse,
  type StartSigningRequest,
  type StartSigningResponse,
} from '@tandem/proto/mpc';

export const SIGNER_ERROR_CODE_KEY = 'tandem-error-code';

export class SignerCallError extends Error {
  override readonly name = 'SignerCallError';
  constructor(
    /** The signer's stable code (PERMIT_EXPIRED, E_PROOF_MOD, …) or SIGNER_UNAVAILABLE / SIGNER_TIMEOUT. */
    readonly code: string,
    readonly grpcStatus: number,
    message: string,
  ) {
    super(message);
  }
}

export interface SignerEndpoint {
  /** host:port; dial by name (localhost for the dev signer) so the certificate matches. */
  address: string;
  caCert: string;
  clientCert: string;
  clientKey: string;
}

/** One signing session at the signer, on its own Sign stream: start, round, finalize, in order. */
export interface SignerSigning {
  /** Permit, transaction and SIGN-1 in; the signer's session id and SIGN-2 out. */
  start(r: StartSigningRequest): Promise<StartSigningResponse>;
  /** SIGN-3 in, SIGN-4 out. */
  round(envelope: Uint8Array): Promise<Uint8Array>;
  /** SIGN-5 in, SIGN-6 and the signature out. */
  finalize(envelope: Uint8Array): Promise<FinalizeSigningResponse>;
  /** Leaves the session: the signer abandons it at once unless SIGN-5 reached it. */
  cancel(): void;
}

export interface SignerCalls {
  startDkg(r: StartDKGRequest): Promise<StartDKGResponse>;
  dkgRound(sessionId: string, envelope: Uint8Array): Promise<Uint8Array>;
  finalizeDkg(sessionId: string, envelope: Uint8Array): Promise<FinalizeDKGResponse>;
  openSigning(): SignerSigning;
  getSigningResult(permitId: string): Promise<GetSigningResultResponse>;
  getKeyset(keysetId: string): Promise<GetKeysetResponse>;
  getSignerInfo(): Promise<GetSignerInfoResponse>;
  rebindDevice(keysetId: string, permit: RebindPermit): Promise<RebindDeviceResponse>;
  close(): void;
}

function toError(e: ServiceError): SignerCallError {
  const code = e.metadata?.get(SIGNER_ERROR_CODE_KEY)[0];
  // A signer on its way down is, to its callers, unavailable: the same code as once it is gone
  // (and a SIGN-5 it refused this way is treated as possibly handled, which is the safe side).
  if (code === 'SHUTTING_DOWN')
    return new SignerCallError('SIGNER_UNAVAILABLE', e.code, 'the bank signer is shutting down');
  if (typeof code === 'string') return new SignerCallError(code, e.code, e.details || e.message);
  if (e.code === status.DEADLINE_EXCEEDED)
    return new SignerCallError('SIGNER_TIMEOUT', e.code, 'the signer did not answer in time');
  return new SignerCallError(
    'SIGNER_UNAVAILABLE',
    e.code,
    `the bank signer is unreachable (${e.details || e.message})`,
  );
}

/** A Sign stream's own deadline: a backstop well beyond any signing session's life. */
const SIGNING_STREAM_MS = 10 * 60_000;

export function connectSigner(
  ep: SignerEndpoint,
  opts: { deadlineMs?: number; dkgDeadlineMs?: number } = {},
): SignerCalls {
  const client = new MPCSignerClient(
    ep.address,
    credentials.createSsl(readFileSync(ep.caCert), readFileSync(ep.clientKey), readFileSync(ep.clientCert)),
    { 'grpc.max_receive_message_length': 512 * 1024, 'grpc.max_send_message_length': 512 * 1024 },
  );
  const deadline = opts.deadlineMs ?? 10_000;
  // KG-3 handling generates a Paillier key and three proofs at the signer: allow longer.
  const dkgDeadline = opts.dkgDeadlineMs ?? 60_000;

  const unary = <Req, Res>(method: string, req: Req, ms = deadline): Promise<Res> =>
    new Promise((ok, fail) => {
      const fn = (client as unknown as Record<string, (...a: unknown[]) => void>)[method]!;
      // waitForReady: while the channel reconnects (the signer restarted), a call waits for it
      // up to its deadline instead of failing at once; it is still sent at most once.
      fn.call(
        client,
        req,
        new Metadata({ waitForReady: true }),
        { deadline: Date.now() + ms },
        (e: ServiceError | null, res: Res) => (e ? fail(toError(e)) : ok(res)),
      );
    });

  /** Read-only calls: retried twice on SIGNER_UNAVAILABLE with a short backoff. */
  const idempotent = async <Req, Res>(method: string, req: Req): Promise<Res> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await unary<Req, Res>(method, req);
      } catch (e) {
        if (!(e instanceof SignerCallError) || e.code !== 'SIGNER_UNAVAILABLE' || attempt >= 2) throw e;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  };

  return {
    startDkg: (r) => unary('startDkg', r),
    dkgRound: async (sessionId, envelope) =>
      (await unary<object, { envelope: Buffer }>('dkgRound', { sessionId, envelope }, dkgDeadline)).envelope,
    finalizeDkg: (sessionId, envelope) => unary('finalizeDkg', { sessionId, envelope }),
    openSigning: () => {
      const stream = new SigningStream(client, { stepMs: deadline, streamMs: SIGNING_STREAM_MS });
      const mapped =
        <A extends unknown[], R>(step: (...a: A) => Promise<R>) =>
        (...a: A) =>
          step(...a).catch((e: ServiceError) => Promise.reject(toError(e)));
      return {
        start: mapped((r: StartSigningRequest) => stream.start(r)),
        round: mapped((envelope: Uint8Array) => stream.round(envelope)),
        finalize: mapped((envelope: Uint8Array) => stream.finalize(envelope)),
        cancel: () => stream.cancel(),
      };
    },
    getSigningResult: (permitId) => idempotent('getSigningResult', { permitId }),
    getKeyset: (keysetId) => idempotent('getKeyset', { keysetId }),
    getSignerInfo: () => idempotent('getSignerInfo', {}),
    // Safe to retry: the signer answers a repeated permit for a move already made with success.
    rebindDevice: (keysetId, permit) => idempotent('rebindDevice', { keysetId, permit }),
    close: () => client.close(),
  };
}
