// A long job seen from outside: a progress bar and the job's steps, each pending, running or done. The step list
// comes from lib/steps.ts; the current step from main's progress events.

import { stepLabel, stepPercent } from '../lib/steps.ts';

export function ProgressBar(props: { label: string; percent: number | null }) {
  const p = props.percent === null ? null : Math.max(0, Math.min(100, Math.round(props.percent)));
  return (
    <div
      className="progressbar"
      role="progressbar"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={p ?? undefined}
      aria-valuetext={p === null ? 'Starting' : `${p}%`}
    >
      <div className={p === null ? 'progress-fill indeterminate' : 'progress-fill'} style={{ width: `${p ?? 30}%` }} />
    </div>
  );
}

export function ProgressSteps(props: {
  label: string;
  steps: string[];
  current: string | null;
  /** Set when the call returned: every step shows done even if the last event was missed. */
  finished?: boolean;
  percent?: number | null;
}) {
  const currentIndex = props.finished ? props.steps.length : props.current ? props.steps.indexOf(props.current) : -1;
  const percent = props.finished
    ? 100
    : (props.percent ?? (props.current ? stepPercent(props.steps, props.current) : null));
  const shown = props.steps.filter((s) => s !== 'done');
  return (
    <div className="progress-steps">
      <ProgressBar label={props.label} percent={percent} />
      <ol aria-label={`${props.label}: steps`}>
        {shown.map((step, i) => {
          const state = i < currentIndex ? 'done' : i === currentIndex ? 'active' : 'pending';
          return (
            <li key={step} className={`step ${state}`} aria-current={state === 'active' ? 'step' : undefined}>
              <span className="step-mark" aria-hidden="true">
                {state === 'done' ? '✓' : state === 'active' ? '•' : ''}
              </span>
              {stepLabel(step)}
              <span className="visually-hidden">
                {state === 'done' ? ' (done)' : state === 'active' ? ' (in progress)' : ' (pending)'}
              </span>
            </li>
          );
        })}
      </ol>
    </div>
  );
}
