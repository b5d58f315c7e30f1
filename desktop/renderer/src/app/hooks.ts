// Loading and acting through the bridge with visible state: every list a screen shows comes from useChannel (and
// reloads itself on main's `changed` events), every button that calls main goes through useAction.

import { useCallback, useEffect, useRef, useState } from 'react';
import type { Channel, RequestOf, ResponseOf, UiError, UiEvent } from '../../../src/main/channels.ts';
import { useApp } from './context.ts';

type Changed = Extract<UiEvent, { event: 'changed' }>['what'];

export interface Loaded<T> {
  data: T | undefined;
  error: UiError | undefined;
  loading: boolean;
  reload(): void;
}

export function useChannel<C extends Channel>(
  channel: C,
  request: RequestOf<C>,
  opts: { reloadOn?: Changed[]; skip?: boolean } = {},
): Loaded<ResponseOf<C>> {
  const { call, subscribe } = useApp();
  const [data, setData] = useState<ResponseOf<C>>();
  const [error, setError] = useState<UiError>();
  const [loading, setLoading] = useState(!opts.skip);
  const [generation, setGeneration] = useState(0);
  // Keyed on the request's serialised form: callers build a new object each render.
  const requestJson = JSON.stringify(request);
  const skip = opts.skip ?? false;
  const reloadOn = (opts.reloadOn ?? []).join(',');

  useEffect(() => {
    if (skip) {
      setLoading(false);
      return;
    }
    let current = true;
    setLoading(true);
    void call(channel, JSON.parse(requestJson) as RequestOf<C>).then((reply) => {
      if (!current) return;
      if (reply.ok) {
        setData(reply.value);
        setError(undefined);
      } else {
        setError(reply.error);
      }
      setLoading(false);
    });
    return () => {
      current = false;
    };
  }, [call, channel, requestJson, skip, generation]);

  useEffect(() => {
    if (!reloadOn) return;
    const what = reloadOn.split(',');
    return subscribe((e) => {
      if (e.event === 'changed' && what.includes(e.what)) setGeneration((g) => g + 1);
    });
  }, [subscribe, reloadOn]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, loading, reload };
}

export interface Action {
  busy: boolean;
  error: UiError | undefined;
  setError(error: UiError | undefined): void;
  /** Calls main; on success returns the value, on failure shows the error and returns undefined. */
  run<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C> | undefined>;
}

export function useAction(): Action {
  const { call } = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UiError>();
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const run = useCallback(
    async <C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C> | undefined> => {
      setBusy(true);
      setError(undefined);
      const reply = await call(channel, request);
      if (mounted.current) {
        setBusy(false);
        if (!reply.ok) setError(reply.error);
      }
      return reply.ok ? reply.value : undefined;
    },
    [call],
  );
  return { busy, error, setError, run };
}

/** Progress events of one job, for one subject (a wallet id, a withdrawal id), while a screen waits for it. */
export function useProgress(job: 'setup' | 'dkg' | 'sign', subject: string | null) {
  const { subscribe } = useApp();
  const [step, setStep] = useState<string | null>(null);
  const [percent, setPercent] = useState<number | null>(null);
  useEffect(
    () =>
      subscribe((e) => {
        if (e.event !== 'progress' || e.job !== job) return;
        if (subject !== null && e.subject !== subject) return;
        setStep(e.step);
        if (typeof e.percent === 'number') setPercent(e.percent);
      }),
    [subscribe, job, subject],
  );
  const reset = useCallback(() => {
    setStep(null);
    setPercent(null);
  }, []);
  return { step, percent, reset };
}

/** Seconds until a WRONG_PASSWORD's retryAfterMs has passed, counting down live. */
export function useRetryCountdown(error: UiError | undefined): number {
  const [seen, setSeen] = useState<{ error: UiError | undefined; until: number }>({ error: undefined, until: 0 });
  const [, tick] = useState(0);
  let until = seen.until;
  if (seen.error !== error) {
    // Derived during render, so the first frame that shows the error already counts down (and disables retrying).
    until = error?.code === 'WRONG_PASSWORD' && error.retryAfterMs ? Date.now() + error.retryAfterMs : 0;
    setSeen({ error, until });
  }
  const left = until - Date.now();
  useEffect(() => {
    if (left <= 0) return;
    const t = window.setTimeout(() => tick((n) => n + 1), left % 1000 || 1000);
    return () => window.clearTimeout(t);
  });
  return left > 0 ? Math.ceil(left / 1000) : 0;
}
