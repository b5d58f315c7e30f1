// TupleHash256 known answers from NIST SP 800-185 (PROTOCOL.md §3.3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tuplehash256 } from '@noble/hashes/sha3-addons.js';
import { bytesToHex, hexToBytes, utf8 } from '../src/bytes.ts';

const X = [hexToBytes('000102'), hexToBytes('101112131415')];

test('TupleHash256 sample with S = "" matches SP 800-185', () => {
  assert.equal(
    bytesToHex(tuplehash256(X, { dkLen: 64 })),
    'cfb7058caca5e668f81a12a20a2195ce97a925f1dba3e7449a56f82201ec607311ac2696b1ab5ea2352df1423bde7bd4bb78c9aed1a853c78672f9eb23bbe194',
  );
});

test('TupleHash256 sample with S = "My Tuple App" matches SP 800-185', () => {
  assert.equal(
    bytesToHex(tuplehash256(X, { dkLen: 64, personalization: utf8('My Tuple App') })),
    '147c2191d5ed7efd98dbd96d7ab5a11692576f5fe2a5065f3e33de6bba9f3aa1c4e9a068a289c61c95aab30aee1e410b0b607de3620e24a4e3bf9852a1d4367e',
  );
});
