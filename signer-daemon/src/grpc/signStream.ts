// The Sign stream (mpc.proto): one signing session's three steps on one call. Each step runs
// exactly as the unary StartSigning, SigningRound and FinalizeSigning do (same checks, errors and
// metrics). What the stream adds is order (start, round, finalize, each sent after the previous
// answer) and ownership: the session is the stream's, so a stream that ends before its finalize
// abandons the session at once, while a session whose finalize was handed over is always left to
// finish and record its result (GetSigningResult reports it).

import { type ServerDuplexStream, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import {
  type FinalizeSigningResponse,
  type SignRequest,
  type SignResponse,
  type StartSigningRequest,
  type StartSigningResponse,
} from '@tandem/proto/mpc';
import { SignerError } from '../errors.ts';

export interface ServerState {
  /** False once shutdown began: calls and steps are refused. */
  accepting: boolean;
  /** Calls and stream steps being handled right now. */
  inFlight: number;
  /** Ends each open Sign stream: shutdown calls them once no step is in flight. */
  streams: Set<() => void>;
}

/** The signing steps, as the unary calls run them. */
export interface SignSteps {
  start(r: StartSigningRequest): Promise<StartSigningResponse>;
  round(sessionId: string, envelope: Uint8Array): Promise<Buffer>;
  finalize(sessionId: string, envelope: Uint8Array): Promise<FinalizeSigningResponse>;
  /** The caller left: end the session unless it is finalizing. */
  abandon(sessionId: string): void;
}

/** Runs one call or step with the service's checks and metrics; never rejects. */
export type StepRunner = <Res>(
  name: string,
  call: Pick<ServerUnaryCall<unknown, unknown>, 'getAuthContext'>,
  fn: () => Promise<Res>,
) => Promise<{ ok: Res } | { error: ServiceError }>;

const ORDER = ['start', 'round', 'finalize'] as const;
type Step = (typeof ORDER)[number];
const METHOD: Record<Step, string> = { start: 'StartSigning', round: 'SigningRound', finalize: 'FinalizeSigning' };

export function signStream(
  steps: SignSteps,
  run: StepRunner,
  state: ServerState,
  toError: (e: unknown) => ServiceError,
): (call: ServerDuplexStream<SignRequest, SignResponse>) => void {
  return (call) => {
    let next = 0; // the step expected, as an index into ORDER
    let sessionId: string | undefined;
    let busy = false; // a step is being handled
    let finalizing = false; // SIGN-5 was handed to the session: it is never abandoned
    let clientDone = false; // the caller half-closed: end once the step in hand is answered
    let over = false; // the stream ended or is ending: nothing more is sent

    const leave = () => {
      if (sessionId !== undefined && !finalizing) steps.abandon(sessionId);
      sessionId = undefined;
    };
    /** Ends the stream (with `error`, or OK), or just stops when the stream is already gone. */
    const finish = (how: { error?: ServiceError; gone?: boolean } = {}) => {
      if (over) return;
      over = true;
      state.streams.delete(shutDown);
      if (!busy) leave(); // else when the step returns
      if (how.gone) return;
      if (how.error) call.emit('error', how.error);
      else call.end();
    };
    const refuse = (message: string) => finish({ error: toError(new SignerError('BAD_REQUEST', message)) });
    const shutDown = () => finish({ error: toError(new SignerError('SHUTTING_DOWN', 'the signer is shutting down')) });
    state.streams.add(shutDown);

    const perform = (step: Step, req: SignRequest): Promise<SignResponse> => {
      if (step === 'start') return steps.start(req.start!).then((start) => ({ start }));
      if (step === 'round') return steps.round(sessionId!, req.round!).then((round) => ({ round }));
      finalizing = true;
      return steps.finalize(sessionId!, req.finalize!).then((finalize) => ({ finalize }));
    };

    call.on('data', (req: SignRequest) => {
      if (over) return;
      if (busy) return refuse('send each step only after the answer to the previous one');
      const step = ORDER[next]!;
      const given = ORDER.filter((k) => req[k] !== undefined);
      if (given.length !== 1 || given[0] !== step) return refuse(`the next step of this signing is ${step}`);
      busy = true;
      void run(METHOD[step], call, () => perform(step, req)).then((r) => {
        busy = false;
        if ('ok' in r && r.ok.start) sessionId = r.ok.start.sessionId;
        if (over) return leave(); // the stream ended while the step ran
        if ('error' in r) return finish({ error: r.error });
        call.write(r.ok);
        next++;
        if (next === ORDER.length || clientDone) finish();
      });
    });
    call.on('end', () => {
      clientDone = true;
      if (!busy) finish();
    });
    call.on('cancelled', () => finish({ gone: true }));
    call.on('error', () => finish({ gone: true }));
  };
}
