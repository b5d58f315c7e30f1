// Operations and limits: health, readiness and metrics on localhost, the gRPC health service,
// rate limits, the per-keyset session cap, session expiry (never a freeze) and graceful shutdown.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { credentials } from '@grpc/grpc-js';
import { txDigest } from '@tandem/tecdsa/txDigest';
import { KeysetStatus } from '@tandem/proto/mpc';
import {
  call,
  Device,
  devPermitKey,
  envBytes,
  issuePermit,
  refused,
  signerWithKeyset,
  signUpToSign5,
  startTestSigner,
  stopTestSigner,
  type TestSigner,
} from './harness.ts';

let t: TestSigner;
let device: Device;
const KS = 'ops-ks';
const message = Buffer.from('ops tests');
const m32 = txDigest({ type: 'personal', message });
const payload = { personalMessage: message };

before(async () => {
  ({ t, device } = await signerWithKeyset(KS, (c) => {
    c.limits.signingRate.perKeyset = { perSecond: 1, burst: 4 };
    c.limits.maxSigningSessionsPerKeyset = 2;
    c.limits.signSessionTtlMs = 1_500;
  }));
});
after(() => stopTestSigner(t));

const permit = () => issuePermit(devPermitKey(t.dataDir), { keysetId: KS, txHash: m32 });
const rows = () =>
  t.signer.ctx.db
    .prepare('SELECT state, error_code FROM sign_sessions WHERE keyset_id = ? ORDER BY started_at_ms')
    .all(KS) as {
    state: string;
    error_code: string | null;
  }[];
const ops = (path: string) => fetch(`http://127.0.0.1:${t.signer.opsPort}${path}`);

test('health, readiness and metrics answer on localhost', async () => {
  assert.equal((await ops('/healthz')).status, 200);
  assert.deepEqual(await (await ops('/readyz')).json(), { ready: true });
  const metrics = await (await ops('/metrics')).text();
  assert.match(metrics, /# TYPE signer_keysets_active gauge\nsigner_keysets_active 1/);
  assert.match(metrics, /signer_sessions_started_total\{kind="dkg"\} 1/);
  assert.equal((await ops('/nope')).status, 404);
});

test('the standard gRPC health service reports SERVING', async () => {
  const { HealthClient } = await healthClient();
  const dev = t.signer.devClient!;
  const c = new HealthClient(
    `localhost:${t.signer.port}`,
    credentials.createSsl(readFileSync(dev.caCert), readFileSync(dev.clientKey), readFileSync(dev.clientCert)),
  );
  const res = await new Promise<{ status: string }>((ok, fail) =>
    c.check({ service: 'tandem.mpc.v1.MPCSigner' }, (e: Error | null, r: { status: string }) => (e ? fail(e) : ok(r))),
  );
  assert.equal(res.status, 'SERVING');
  c.close();
});

test('the per-keyset session cap refuses a third concurrent session; expiry abandons, never freezes', async () => {
  const a = await signUpToSign5(t.client, device, KS, m32, payload, permit());
  const b = await signUpToSign5(t.client, device, KS, m32, payload, permit());
  await refused(signUpToSign5(t.client, device, KS, m32, payload, permit()), 'SESSION_LIMIT');
  await new Promise((r) => setTimeout(r, 2_700)); // past the 1.5 s TTL and a sweep
  await refused(
    call(t.client, 'finalizeSigning', { sessionId: a.sessionId, envelope: envBytes(a.sign5) }),
    'SESSION_NOT_FOUND',
  );
  await refused(
    call(t.client, 'finalizeSigning', { sessionId: b.sessionId, envelope: envBytes(b.sign5) }),
    'SESSION_NOT_FOUND',
  );
  assert.deepEqual(
    rows().map((r) => [r.state, r.error_code]),
    [
      ['ABANDONED', 'E_TIMEOUT'],
      ['ABANDONED', 'E_TIMEOUT'],
    ],
  );
  const k = await call<{ keyset: { status: KeysetStatus } }>(t.client, 'getKeyset', { keysetId: KS });
  assert.equal(k.keyset.status, KeysetStatus.KEYSET_STATUS_ACTIVE);
});

test('the per-keyset rate limit refuses with RATE_LIMITED before the permit is spent', async () => {
  // The bucket (burst 4) lost 2 tokens above plus the refused third; drain the rest quickly.
  const codes: string[] = [];
  let refusedPermit: ReturnType<typeof permit> | undefined;
  for (let i = 0; i < 6; i++) {
    const p = permit();
    try {
      const s = await signUpToSign5(t.client, device, KS, m32, payload, p);
      await call(t.client, 'finalizeSigning', { sessionId: s.sessionId, envelope: envBytes(s.sign5) });
      codes.push('OK');
    } catch (e) {
      const code = (e as { code?: string }).code ?? String(e);
      if (code === 'RATE_LIMITED') refusedPermit ??= p;
      codes.push(code);
    }
  }
  await new Promise((r) => setTimeout(r, 1_100)); // one token back
  const s = await signUpToSign5(t.client, device, KS, m32, payload, refusedPermit!);
  await call(t.client, 'finalizeSigning', { sessionId: s.sessionId, envelope: envBytes(s.sign5) });
  assert.ok(codes.includes('RATE_LIMITED'), codes.join(','));
  assert.match(t.signer.ctx.metrics.render(), /signer_rpc_errors_total\{code="RATE_LIMITED",method="StartSigning"\}/);
});

test('graceful shutdown abandons open sessions and then refuses calls', async () => {
  await new Promise((r) => setTimeout(r, 1_100)); // refill a token
  const open = await signUpToSign5(t.client, device, KS, m32, payload, permit());
  await t.signer.close();
  await assert.rejects(call(t.client, 'getSignerInfo', {}));
  // Reopen to read the row the shutdown wrote.
  t = await startTestSigner(t.dataDir);
  const row = t.signer.ctx.db
    .prepare('SELECT state, error_code FROM sign_sessions WHERE session_id = ?')
    .get(open.sessionId) as {
    state: string;
    error_code: string;
  };
  assert.deepEqual([row.state, row.error_code], ['ABANDONED', 'SHUTTING_DOWN']);
});

async function healthClient() {
  const protoLoader = await import('@grpc/proto-loader');
  const grpc = await import('@grpc/grpc-js');
  const { protoPath } = await import('grpc-health-check');
  const def = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, { enums: String })) as unknown as {
    grpc: {
      health: {
        v1: {
          Health: new (
            addr: string,
            creds: unknown,
          ) => {
            check(req: { service: string }, cb: (e: Error | null, r: { status: string }) => void): void;
            close(): void;
          };
        };
      };
    };
  };
  return { HealthClient: def.grpc.health.v1.Health };
}
