// The MPCSigner gRPC service: checks the caller's client-certificate identity, hands each call
// to the DKG, signing or rebind service, and turns every failure into a status with a stable
// code in the `tandem-error-code` trailer. Nothing thrown inside a handler escapes it.

import { Metadata, status, type ServerUnaryCall, type sendUnaryData, type ServiceError } from '@grpc/grpc-js';
import { TecdsaError } from '@tandem/tecdsa/errors';
import { envelopeToJson, type Envelope } from '@tandem/tecdsa/envelope';
import { bigToBytes } from '@tandem/tecdsa/bytes';
import { type Signature } from '@tandem/tecdsa/sign';
import {
  type FinalizeSigningRequest,
  type FinalizeSigningResponse,
  type Keyset as ProtoKeyset,
  KeysetStatus,
  type MPCSignerServer,
  type Signature as ProtoSignature,
  SigningState,
  type SigningRoundRequest,
  type StartSigningResponse,
} from '@tandem/proto/mpc';
import { SignerError, protocolStatus } from '../errors.ts';
import { type SignerContext } from '../context.ts';
import { type Keyset } from '../store/keysets.ts';
import { type DkgService } from '../sessions/dkgService.ts';
import { type SigningService } from '../sessions/signingService.ts';
import { type RebindService } from '../sessions/rebindService.ts';
import { keysetIdOf } from '../sessions/inputs.ts';
import { certIdentity } from '@tandem/common/devPki';
import { signStream, type ServerState, type SignSteps } from './signStream.ts';

export const ERROR_CODE_KEY = 'tandem-error-code';

const bytes = (env: Envelope) => Buffer.from(envelopeToJson(env), 'utf8');

const SIGNING_STATE = {
  RUNNING: SigningState.SIGNING_STATE_RUNNING,
  DECRYPT_PENDING: SigningState.SIGNING_STATE_DECRYPT_PENDING,
  SIGNED: SigningState.SIGNING_STATE_SIGNED,
  ENDED: SigningState.SIGNING_STATE_ENDED,
} as const;

const STATUS: Record<Keyset['status'], KeysetStatus> = {
  ACTIVE: KeysetStatus.KEYSET_STATUS_ACTIVE,
  FROZEN: KeysetStatus.KEYSET_STATUS_FROZEN,
  RETIRED: KeysetStatus.KEYSET_STATUS_RETIRED,
};

/** The answers to the three signing steps, the same for the unary calls and a Sign stream. */
function signingStarted(out: { sessionId: string; envelope: Envelope }): StartSigningResponse {
  return { sessionId: out.sessionId, envelope: bytes(out.envelope) };
}

function signingFinalized(out: { envelope: Envelope; signature: Signature }): FinalizeSigningResponse {
  return { envelope: bytes(out.envelope), signature: signatureToProto(out.signature) };
}

function signatureToProto(sig: Signature): ProtoSignature {
  return { r: Buffer.from(bigToBytes(sig.r, 32)), s: Buffer.from(bigToBytes(sig.s, 32)), recoveryId: sig.recid };
}

export function keysetToProto(k: Keyset): ProtoKeyset {
  return {
    keysetId: k.keysetId,
    walletId: Buffer.from(k.walletId),
    keyId: Buffer.from(k.keyId),
    publicKey: Buffer.from(k.publicKey),
    address: k.address,
    status: STATUS[k.status],
    devicePublicKey: Buffer.from(k.devicePublicKey),
    createdAtMs: BigInt(k.createdAtMs),
  };
}

function toServiceError(e: unknown): { error: ServiceError; code: string } {
  let code: string;
  let grpcStatus: status;
  let message: string;
  if (e instanceof SignerError) {
    [code, grpcStatus, message] = [e.code, e.grpcStatus, e.message];
  } else if (e instanceof TecdsaError) {
    [code, grpcStatus, message] = [e.code, protocolStatus(e), e.message];
    if (e.code === 'E_INTERNAL') [code, message] = ['INTERNAL', 'internal error'];
  } else {
    [code, grpcStatus, message] = ['INTERNAL', status.INTERNAL, 'internal error'];
  }
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, code);
  const error = Object.assign(new Error(message), { code: grpcStatus, details: message, metadata });
  return { error, code };
}

export interface PeerCheck {
  /** Identities (certificate CN or SAN) allowed to call the signer. */
  allowed: readonly string[];
}

/**
 * Identities of client certificates already seen, by their exact DER bytes: parsing a certificate on
 * every call cost about as much as the call itself. Bounded: a few coordinators ever call.
 */
const identities = new Map<string, string | undefined>();

/** The verified client certificate's identity (TLS already checked the chain). */
function peerIdentity(call: Pick<ServerUnaryCall<unknown, unknown>, 'getAuthContext'>): string | undefined {
  const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
  if (!raw) return undefined;
  const key = raw.toString('base64');
  if (identities.has(key)) return identities.get(key);
  const id = certIdentity(raw);
  if (identities.size >= 64) identities.clear();
  identities.set(key, id);
  return id;
}

export function mpcSignerService(
  ctx: SignerContext,
  dkg: DkgService,
  signing: SigningService,
  rebind: RebindService,
  peers: PeerCheck,
  state: ServerState,
): MPCSignerServer {
  /**
   * One call, or one step of a Sign stream: the shutdown and peer checks, the handler, metrics.
   * Never rejects: a failure comes back as the status to end the call with.
   */
  const run = async <Res>(
    name: string,
    call: Pick<ServerUnaryCall<unknown, unknown>, 'getAuthContext'>,
    fn: () => Promise<Res>,
  ): Promise<{ ok: Res } | { error: ServiceError }> => {
    const started = performance.now();
    state.inFlight++;
    try {
      if (!state.accepting) throw new SignerError('SHUTTING_DOWN', 'the signer is shutting down');
      const peer = peerIdentity(call);
      if (peer === undefined || !peers.allowed.includes(peer))
        throw new SignerError('PEER_NOT_ALLOWED', 'this client certificate is not allowed to call the signer');
      const ok = await fn();
      ctx.metrics.observe('signer_rpc_seconds', 'gRPC handler latency', (performance.now() - started) / 1000);
      return { ok };
    } catch (e) {
      const { error, code } = toServiceError(e);
      ctx.metrics.inc('signer_rpc_errors_total', 'gRPC calls that failed', { method: name, code });
      if (code.startsWith('PERMIT_')) ctx.metrics.inc('signer_permit_refusals_total', 'Permits refused', { code });
      if (code === 'INTERNAL') ctx.log.error({ method: name, err: e }, 'internal error');
      else ctx.log.info({ method: name, code }, 'call refused');
      return { error };
    } finally {
      state.inFlight--;
    }
  };

  const handle =
    <Req, Res>(name: string, fn: (req: Req) => Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void =>
      void run(name, call, () => fn(call.request)).then((r) =>
        'ok' in r ? callback(null, r.ok) : callback(r.error, null),
      );

  const steps: SignSteps = {
    start: async (r) => signingStarted(await signing.start(r)),
    round: async (sessionId, envelope) => bytes(await signing.round(sessionId, envelope)),
    finalize: async (sessionId, envelope) => signingFinalized(await signing.finalize(sessionId, envelope)),
    abandon: (sessionId) => signing.abandon(sessionId),
  };

  return {
    startDkg: handle('StartDKG', async (r) => {
      const out = await dkg.start({
        keysetId: r.keysetId,
        walletId: r.walletId,
        devicePublicKey: r.devicePublicKey,
        envelope: r.envelope,
      });
      return { sessionId: out.sessionId, envelope: bytes(out.envelope) };
    }),
    dkgRound: handle('DKGRound', async (r) => ({ envelope: bytes(await dkg.round(r.sessionId, r.envelope)) })),
    finalizeDkg: handle('FinalizeDKG', async (r) => ({
      keyset: keysetToProto(await dkg.finalize(r.sessionId, r.envelope)),
    })),
    startSigning: handle('StartSigning', steps.start),
    signingRound: handle('SigningRound', async (r: SigningRoundRequest) => ({
      envelope: await steps.round(r.sessionId, r.envelope),
    })),
    finalizeSigning: handle('FinalizeSigning', (r: FinalizeSigningRequest) => steps.finalize(r.sessionId, r.envelope)),
    sign: signStream(steps, run, state, (e) => toServiceError(e).error),
    getSigningResult: handle('GetSigningResult', async (r) => {
      if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(r.permitId)) throw new SignerError('BAD_REQUEST', 'permit_id is malformed');
      const out = signing.result(r.permitId);
      return {
        state: SIGNING_STATE[out.state],
        keysetId: out.keysetId,
        txHash: Buffer.from(out.txHash),
        signature: out.signature && signatureToProto(out.signature),
      };
    }),
    getKeyset: handle('GetKeyset', async (r) => ({
      keyset: keysetToProto(ctx.keysets.require(keysetIdOf(r.keysetId))),
    })),
    getSignerInfo: handle('GetSignerInfo', async () => ({
      identityPublicKey: Buffer.from(ctx.identity.publicKey),
      version: SIGNER_VERSION,
    })),
    rebindDevice: handle('RebindDevice', async (r) => ({
      keyset: keysetToProto(rebind.rebind({ keysetId: r.keysetId, permit: r.permit })),
    })),
  };
}

export const SIGNER_VERSION = '0.1.0';
