// The caller's side of a Sign stream (mpc.proto): one signing session's three steps on one call,
// each awaited with its own deadline. Used by the coordinator and by the signer's tests, so both
// drive the stream one way. Failures are the gRPC ServiceError the stream ended with (its
// `tandem-error-code` trailer included), or one made here with a gRPC status: DEADLINE_EXCEEDED
// when a step's answer is late (the stream is then cancelled), UNAVAILABLE when the stream ended
// without the answer. Either way the answer is unknown, as after a lost unary call.

import { Metadata, status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import {
  type FinalizeSigningResponse,
  type MPCSignerClient,
  type SignRequest,
  type SignResponse,
  type StartSigningRequest,
  type StartSigningResponse,
} from '../gen/mpc.ts';

function streamError(code: status, details: string): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new Metadata() });
}

export interface SigningStreamOptions {
  /** How long each step's answer may take. */
  stepMs: number;
  /** The whole stream's gRPC deadline: a backstop, longer than any session lives. */
  streamMs: number;
}

export class SigningStream {
  private readonly call: ClientDuplexStream<SignRequest, SignResponse>;
  private waiting:
    { ok: (r: SignResponse) => void; fail: (e: ServiceError) => void; timer: NodeJS.Timeout } | undefined;
  /** Set once the stream failed or ended: every later step fails with it. */
  private failure: ServiceError | undefined;

  constructor(
    client: MPCSignerClient,
    private readonly o: SigningStreamOptions,
  ) {
    // waitForReady: while the channel reconnects (the signer restarted) the stream waits for it
    // up to its deadline instead of failing at once.
    this.call = client.sign(new Metadata({ waitForReady: true }), { deadline: Date.now() + o.streamMs });
    this.call.on('data', (r: SignResponse) => {
      const w = this.waiting;
      this.waiting = undefined;
      if (!w) return this.fail(streamError(status.INTERNAL, 'the signer answered a step that was not asked'));
      clearTimeout(w.timer);
      w.ok(r);
    });
    this.call.on('error', (e: ServiceError) => this.fail(e));
    this.call.on('end', () => this.fail(streamError(status.UNAVAILABLE, 'the signer ended the signing stream')));
  }

  start(r: StartSigningRequest): Promise<StartSigningResponse> {
    return this.step({ start: r }, (a) => a.start);
  }

  round(envelope: Uint8Array): Promise<Buffer> {
    return this.step({ round: Buffer.from(envelope) }, (a) => a.round);
  }

  /** The last step; the stream is closed once it is answered. */
  async finalize(envelope: Uint8Array): Promise<FinalizeSigningResponse> {
    const answer = await this.step({ finalize: Buffer.from(envelope) }, (a) => a.finalize);
    this.call.end();
    return answer;
  }

  /** Leaves the session (the signer abandons it unless SIGN-5 was handed over). */
  cancel(): void {
    this.fail(streamError(status.CANCELLED, 'the signing stream was cancelled'));
    this.call.cancel();
  }

  private step<T>(req: SignRequest, pick: (a: SignResponse) => T | undefined): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiting) return Promise.reject(streamError(status.FAILED_PRECONDITION, 'a step is already waiting'));
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => {
        this.fail(streamError(status.DEADLINE_EXCEEDED, 'the signer did not answer in time'));
        this.call.cancel();
      }, this.o.stepMs);
      this.waiting = {
        ok: (a) => {
          const value = pick(a);
          if (value !== undefined) return ok(value);
          const e = streamError(status.INTERNAL, 'the signer answered another step');
          this.fail(e);
          this.call.cancel();
          fail(e);
        },
        fail,
        timer,
      };
      this.call.write(req);
    });
  }

  private fail(e: ServiceError): void {
    this.failure ??= e;
    const w = this.waiting;
    this.waiting = undefined;
    if (w) {
      clearTimeout(w.timer);
      w.fail(this.failure);
    }
  }
}
