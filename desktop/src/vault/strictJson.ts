// A strict reader for the vault's small JSON files: objects, plain printable-ASCII strings and non-negative safe
// integers, nothing else. JSON.parse would accept duplicate keys (silently keeping the last one), escapes, floats and
// any depth; a file we wrote ourselves has one reading only, so anything else is a sign it was altered. Error
// messages give a position and what was expected, never the text itself (it may be near secret material).

export type JsonValue = string | number | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

export class StrictJsonError extends Error {
  override readonly name = 'StrictJsonError';
}

const fail = (why: string): never => {
  throw new StrictJsonError(why);
};

export function parseStrictJson(text: string, maxDepth: number): JsonObject {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const expect = (c: string): void => {
    if (text[i] !== c) fail(`expected '${c}' at ${i}`);
    i++;
  };
  const str = (): string => {
    expect('"');
    const start = i;
    while (i < text.length && text[i] !== '"') {
      const code = text.charCodeAt(i);
      if (code < 0x20 || code > 0x7e || text[i] === '\\') fail(`strings must be plain printable ASCII (at ${i})`);
      i++;
    }
    expect('"');
    return text.slice(start, i - 1);
  };
  const int = (): number => {
    const m = /^(0|[1-9][0-9]{0,15})(?![0-9.eE+-])/.exec(text.slice(i, i + 18));
    if (!m) return fail(`expected a non-negative integer at ${i}`);
    i += m[0].length;
    const n = Number(m[0]);
    if (!Number.isSafeInteger(n)) fail(`integer too large at ${i}`);
    return n;
  };
  const obj = (depth: number): JsonObject => {
    if (depth > maxDepth) fail(`nested deeper than ${maxDepth}`);
    // A null prototype: a key named "__proto__" stays an ordinary (and then unexpected) key.
    const out = Object.create(null) as Record<string, JsonValue>;
    expect('{');
    ws();
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      ws();
      const key = str();
      if (Object.hasOwn(out, key)) fail(`duplicate key at ${i}`);
      ws();
      expect(':');
      ws();
      out[key] = text[i] === '"' ? str() : text[i] === '{' ? obj(depth + 1) : int();
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      expect('}');
      return out;
    }
  };
  ws();
  const root = obj(1);
  ws();
  if (i !== text.length) fail('trailing characters');
  return root;
}

/** The object's keys must be exactly `keys` (any order). */
export function hasExactKeys(o: JsonObject, keys: readonly string[]): boolean {
  const own = Object.keys(o);
  return own.length === keys.length && keys.every((k) => Object.hasOwn(o, k));
}

export const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null;

/** Canonical base64 only (padding, no whitespace, no URL alphabet): one spelling per byte string. */
export function decodeBase64Strict(s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(s, 'base64');
  return bytes.toString('base64') === s ? bytes : undefined;
}
