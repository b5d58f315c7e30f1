// Waits for a condition with a bound, so a test that goes wrong fails with a reason instead of
// hanging the suite.

export async function until<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
