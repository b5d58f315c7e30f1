/** An approver's two answers to a proposal; the caller wraps them in its own row of actions. */
export function DecisionButtons(props: { busy: boolean; onApprove(): void; onReject(): void }) {
  return (
    <>
      <button type="button" className="small" disabled={props.busy} onClick={props.onApprove}>
        Approve
      </button>
      <button type="button" className="small danger" disabled={props.busy} onClick={props.onReject}>
        Reject
      </button>
    </>
  );
}
