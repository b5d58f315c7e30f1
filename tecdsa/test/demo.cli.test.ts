// The demo CLI as a script would use it: one JSON line, and a transcript our verifier accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { verifyTranscript } from '../src/transcript.ts';
import { seededRng } from '../src/rng.ts';
import { mp } from './helpers.ts';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../src/cli/demo.ts', import.meta.url));
const MSG = '0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53';

test('demo --json prints one line and --transcript writes a verifiable full-size transcript', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'tecdsa-demo-')), 't.json');
  const { stdout } = await run(process.execPath, [
    '--import',
    'tsx',
    cli,
    '--message',
    MSG,
    '--json',
    '--transcript',
    file,
  ]);
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const out = JSON.parse(lines[0]!);
  assert.deepEqual(Object.keys(out), ['publicKey', 'address', 'messageHash', 'r', 's', 'v']);
  assert.equal(out.messageHash, MSG);
  assert.match(out.publicKey, /^0[23][0-9a-f]{64}$/);
  assert.match(out.address, /^0x[0-9a-fA-F]{40}$/);
  assert.ok(out.v === 0 || out.v === 1);
  const sig = secp256k1.Signature.fromHex(out.r.slice(2) + out.s.slice(2)).toBytes('compact');
  assert.ok(
    secp256k1.verify(sig, Buffer.from(MSG.slice(2), 'hex'), Buffer.from(out.publicKey, 'hex'), { prehash: false }),
  );
  const text = readFileSync(file, 'utf8');
  const t = JSON.parse(text);
  assert.equal(t.params.nBits, 3072);
  assert.equal(t.messages.length, 11);
  const { Q } = verifyTranscript(text, { modPow: mp, rng: seededRng('demo-test') });
  assert.equal(Buffer.from(Q.toBytes(true)).toString('hex'), out.publicKey);
});

test('demo refuses a malformed --message with a usage error', async () => {
  await assert.rejects(
    run(process.execPath, ['--import', 'tsx', cli, '--message', '0x12']),
    (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr ?? '', /64 hex digits/);
      return true;
    },
  );
});
