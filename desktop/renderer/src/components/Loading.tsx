/** A visible, announced wait. */
export function Loading(props: { label?: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {props.label ?? 'Loading…'}
    </p>
  );
}
