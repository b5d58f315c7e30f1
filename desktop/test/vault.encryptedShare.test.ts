// The password layer's format (src/vault/encryptedShare.ts): a round trip, the exact JSON a backup file holds, and a
// rejection for each way a file can be wrong. Every defect is SHARE_CORRUPTED, found before the key derivation runs;
// only a well-formed file for the expected wallet that fails its tag is WRONG_PASSWORD. No keychain involved.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { type VaultErrorCode, VaultError } from '../src/vault/errors.ts';
import {
  type ShareIds,
  MIN_ITERATIONS,
  openShare,
  parseEncryptedShare,
  sealShare,
} from '../src/vault/encryptedShare.ts';

const ids: ShareIds = { walletId: '5f0c1d52-9a43-4c55-9d1a-0b6a8f0e7c11', keysetId: 'ks_7Qp2' };
const PASSWORD = 'correct horse battery staple';

async function rejectsWith(run: () => Promise<unknown> | unknown, code: VaultErrorCode): Promise<VaultError> {
  try {
    await run();
  } catch (e) {
    assert.ok(e instanceof VaultError, `expected VaultError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.detail);
    return e;
  }
  return assert.fail(`expected ${code}, but it succeeded`);
}

const secret = randomBytes(2048);
const sealed = sealShare(secret, PASSWORD, ids, { now: () => Date.UTC(2026, 0, 2, 3, 4, 5) });

test('seals and opens a 2 KiB secret; the JSON has exactly the documented fields', async () => {
  const json = await sealed;
  const o = JSON.parse(json);
  assert.deepEqual(Object.keys(o), ['version', 'walletId', 'keysetId', 'cipherSuite', 'kdf', 'enc', 'createdAt']);
  assert.deepEqual(Object.keys(o.kdf), ['name', 'iterations', 'salt']);
  assert.deepEqual(Object.keys(o.enc), ['name', 'iv', 'ciphertext']);
  assert.equal(o.version, 1);
  assert.equal(o.walletId, ids.walletId);
  assert.equal(o.keysetId, ids.keysetId);
  assert.equal(o.cipherSuite, 'secp256k1-tecdsa-2pc');
  assert.equal(o.kdf.name, 'PBKDF2-SHA256');
  assert.ok(o.kdf.iterations >= 600_000);
  assert.equal(Buffer.from(o.kdf.salt, 'base64').length, 16);
  assert.equal(o.enc.name, 'AES-256-GCM');
  assert.equal(Buffer.from(o.enc.iv, 'base64').length, 12);
  assert.equal(Buffer.from(o.enc.ciphertext, 'base64').length, secret.length + 16, 'ciphertext ‖ 16-byte tag');
  assert.equal(o.createdAt, '2026-01-02T03:04:05.000Z');
  assert.deepEqual(await openShare(json, PASSWORD, ids), new Uint8Array(secret));
});

test('a wrong password is WRONG_PASSWORD', async () => {
  await rejectsWith(async () => openShare(await sealed, 'correct horse battery stapl3', ids), 'WRONG_PASSWORD');
});

test('the password is compared in NFC form, so a backup opens where the OS composes accents differently', async () => {
  const decomposed = 'Zürich-Tresor-2026'.normalize('NFD');
  const json = await sealShare(secret, decomposed, ids);
  assert.deepEqual(await openShare(json, 'Zürich-Tresor-2026'.normalize('NFC'), ids), new Uint8Array(secret));
});

test('a new password needs 12 characters (counted as a person counts them): BAD_PASSWORD', async () => {
  await rejectsWith(() => sealShare(secret, 'elevenchars', ids), 'BAD_PASSWORD');
  await rejectsWith(() => sealShare(secret, '🔑'.repeat(11), ids), 'BAD_PASSWORD');
});

test('iterations below 600,000 are refused when sealing', async () => {
  await assert.rejects(() => sealShare(secret, PASSWORD, ids, { iterations: MIN_ITERATIONS - 1 }), TypeError);
});

test('rejects every malformed or foreign file as SHARE_CORRUPTED, before any key derivation', async (t) => {
  const json = await sealed;
  const base = JSON.parse(json);
  const edit = (f: (o: typeof base) => void): string => {
    const o = structuredClone(base);
    f(o);
    return JSON.stringify(o);
  };
  const b64 = (n: number): string => randomBytes(n).toString('base64');
  const cases: Record<string, string> = {
    'iterations 1': edit((o) => (o.kdf.iterations = 1)),
    'iterations 599,999': edit((o) => (o.kdf.iterations = 599_999)),
    'iterations 10,000,001': edit((o) => (o.kdf.iterations = 10_000_001)),
    'iterations 10^12': edit((o) => (o.kdf.iterations = 1e12)),
    'iterations as a string': edit((o) => (o.kdf.iterations = '600000')),
    'iterations as a float': json.replace('"iterations": 600000', '"iterations": 600000.5'),
    'iterations in exponent form': json.replace('"iterations": 600000', '"iterations": 6e5'),
    'negative iterations': json.replace('"iterations": 600000', '"iterations": -600000'),
    'another KDF': edit((o) => (o.kdf.name = 'PBKDF2-SHA1')),
    'another cipher': edit((o) => (o.enc.name = 'AES-128-GCM')),
    'another cipher suite': edit((o) => (o.cipherSuite = 'ed25519-frost')),
    'version 2': edit((o) => (o.version = 2)),
    'version as a string': edit((o) => (o.version = '1')),
    '8-byte salt': edit((o) => (o.kdf.salt = b64(8))),
    '65-byte salt': edit((o) => (o.kdf.salt = b64(65))),
    'salt in URL-safe base64': edit((o) => (o.kdf.salt = o.kdf.salt.replace(/=+$/, '') + '-_')),
    'salt without padding': edit((o) => (o.kdf.salt = o.kdf.salt.replace(/=+$/, ''))),
    '11-byte iv': edit((o) => (o.enc.iv = b64(11))),
    '13-byte iv': edit((o) => (o.enc.iv = b64(13))),
    'a ciphertext that is only a tag': edit((o) => (o.enc.ciphertext = b64(16))),
    'an oversized ciphertext': edit((o) => (o.enc.ciphertext = b64(64 * 1024 + 17))),
    'an extra field': edit((o) => (o.note = 'x')),
    'an extra kdf field': edit((o) => (o.kdf.memory = 1)),
    'a missing createdAt': edit((o) => delete o.createdAt),
    'a createdAt that is not a date': edit((o) => (o.createdAt = 'yesterday')),
    'another wallet': edit((o) => (o.walletId = 'another-wallet')),
    'another keyset': edit((o) => (o.keysetId = 'ks_other')),
    'a duplicate walletId key': json.replace('"walletId"', `"walletId": "another-wallet",\n  "walletId"`),
    'an escaped string': json.replace('"AES-256-GCM"', '"AES-256-\\u0047CM"'),
    'a __proto__ key': json.replace('"version"', '"__proto__": {},\n  "version"'),
    'an array': edit((o) => (o.enc = [o.enc])),
    'trailing text': `${json}{}`,
    'not JSON': 'walletId=1',
    'an empty file': '',
    'a huge file': ' '.repeat(300_000) + json,
  };
  // No password at all: had openShare reached the key derivation, it would throw a TypeError, not SHARE_CORRUPTED.
  const noPassword = undefined as unknown as string;
  for (const [name, text] of Object.entries(cases)) {
    await t.test(name, async () => {
      const e = await rejectsWith(() => parseEncryptedShare(text, ids), 'SHARE_CORRUPTED');
      assert.ok(e.detail, 'names the failed check for support');
      await rejectsWith(() => openShare(text, noPassword, ids), 'SHARE_CORRUPTED');
    });
  }
});

test('the ids are bound into the ciphertext: a file edited to name another wallet does not open', async () => {
  // A well-formed file that names the wallet we expect is given to GCM, whose single tag cannot say why it failed:
  // WRONG_PASSWORD. On a workstation the device layer refuses such an edit first (vault.test.ts).
  const other = { walletId: 'another-wallet', keysetId: ids.keysetId };
  const edited = JSON.stringify({ ...JSON.parse(await sealed), walletId: other.walletId });
  await rejectsWith(() => openShare(edited, PASSWORD, other), 'WRONG_PASSWORD');
});

test('a damaged ciphertext in a well-formed backup reads as WRONG_PASSWORD (one GCM tag: documented limit)', async () => {
  const o = JSON.parse(await sealed);
  const ct = Buffer.from(o.enc.ciphertext, 'base64');
  ct[100]! ^= 0x01;
  o.enc.ciphertext = ct.toString('base64');
  await rejectsWith(() => openShare(JSON.stringify(o), PASSWORD, ids), 'WRONG_PASSWORD');
});

test('error messages are for people and hold no secret', async () => {
  const e = await rejectsWith(async () => openShare(await sealed, 'not the password!', ids), 'WRONG_PASSWORD');
  assert.match(e.message, /password is not correct/i);
  assert.doesNotMatch(`${e.message} ${e.detail ?? ''} ${String(e.cause ?? '')}`, /not the password|correct horse/);
});
