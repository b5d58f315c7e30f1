// A strict parser for flat JSON objects whose values are plain ASCII strings or small
// non-negative integers (the envelope, §3.2). JSON.parse would accept duplicate keys
// (silently keeping the last) and escapes; a signed envelope must have one reading only.

import { TecdsaError } from './errors.ts';

const fail = (why: string): never => {
  throw new TecdsaError('E_DECODE', `envelope JSON: ${why}`);
};

export function parseFlatJson(text: string): Map<string, string | number> {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const expect = (c: string) => {
    if (text[i] !== c) fail(`expected '${c}' at ${i}`);
    i++;
  };
  const str = (): string => {
    expect('"');
    const start = i;
    while (i < text.length && text[i] !== '"') {
      const code = text.charCodeAt(i);
      if (code < 0x20 || code > 0x7e || text[i] === '\\') fail('strings must be plain printable ASCII');
      i++;
    }
    expect('"');
    return text.slice(start, i - 1);
  };
  const num = (): number => {
    const m = /^(0|[1-9][0-9]{0,8})(?![0-9.eE+-])/.exec(text.slice(i, i + 12));
    if (!m) fail(`expected a small non-negative integer at ${i}`);
    i += m![0].length;
    return Number(m![0]);
  };
  const out = new Map<string, string | number>();
  ws();
  expect('{');
  ws();
  if (text[i] === '}') i++;
  else
    for (;;) {
      ws();
      const k = str();
      if (out.has(k)) fail(`duplicate key ${k}`);
      ws();
      expect(':');
      ws();
      out.set(k, text[i] === '"' ? str() : num());
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      expect('}');
      break;
    }
  ws();
  if (i !== text.length) fail('trailing characters');
  return out;
}
