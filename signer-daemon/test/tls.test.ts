// Mutual TLS: only clients with a certificate from the configured CA and an allowed identity
// reach the service.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CallFailed, call, connect, refused, startTestSigner, tempDir, type TestSigner } from './harness.ts';
import { issueClientCert, makeForeignClient } from '@tandem/common/devPki';

let t: TestSigner;
before(async () => {
  t = await startTestSigner();
});
after(async () => {
  t.client.close();
  await t.signer.close();
});

async function failsHandshake(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof CallFailed && e.status === 14 /* UNAVAILABLE */);
}

test('the coordinator certificate is accepted', async () => {
  const info = await call<{ identityPublicKey: Buffer }>(t.client, 'getSignerInfo', {});
  assert.equal(info.identityPublicKey.length, 32);
});

test('a client without a certificate is refused', async () => {
  const c = connect(t.signer.port, t.signer.devClient!.caCert);
  await failsHandshake(call(c, 'getSignerInfo', {}));
  c.close();
});

test('a client with a certificate from another CA is refused', async () => {
  const foreign = makeForeignClient(tempDir());
  const c = connect(t.signer.port, t.signer.devClient!.caCert, foreign.cert, foreign.key);
  await failsHandshake(call(c, 'getSignerInfo', {}));
  c.close();
});

test('a certificate from our CA with another identity is refused with PEER_NOT_ALLOWED', async () => {
  const other = issueClientCert(join(t.dataDir, 'tls'), tempDir(), 'tandem-desktop');
  const c = connect(t.signer.port, t.signer.devClient!.caCert, other.cert, other.key);
  const e = await refused(call(c, 'getSignerInfo', {}), 'PEER_NOT_ALLOWED');
  assert.equal(e.status, 7); // PERMISSION_DENIED
  c.close();
});
