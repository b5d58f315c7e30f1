import type { UiError } from '../../../src/main/channels.ts';
import { useRetryCountdown } from '../app/hooks.ts';
import { describeError } from '../lib/errors.ts';

/**
 * A failure, with what to do next. Announced at once (role alert). A lost connection is left to the one app-wide
 * banner (App.tsx), so the page never shows the same alert twice.
 */
export function ErrorBanner(props: { error: UiError | undefined; onRetry?: () => void }) {
  const secondsLeft = useRetryCountdown(props.error);
  if (!props.error || props.error.code === 'DISCONNECTED') return null;
  const text = describeError(props.error, secondsLeft);
  return (
    <div className="banner error" role="alert">
      <p>
        {text.message}
        {text.next ? ' ' : ''}
        {text.next ? <strong>{text.next}</strong> : null}
      </p>
      {props.onRetry ? (
        <button type="button" className="secondary" onClick={props.onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}
