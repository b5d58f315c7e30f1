import { useState } from 'react';

/** An address or hash, whole and in monospace: shortening one would hide exactly the part an attacker changes. */
export function Address(props: { value: string; copy?: boolean }) {
  return (
    <span className="address-line">
      <code className="mono">{props.value}</code>
      {props.copy ? <CopyButton text={props.value} /> : null}
    </span>
  );
}

export function CopyButton(props: { text: string; label?: string }) {
  const [status, setStatus] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
      setStatus('copied');
    } catch {
      setStatus('failed');
    }
    window.setTimeout(() => setStatus('idle'), 2500);
  };
  return (
    <>
      <button type="button" className="small secondary" onClick={() => void copy()}>
        {props.label ?? 'Copy address'}
      </button>
      <span className="copy-status" role="status">
        {status === 'copied' ? 'Copied' : status === 'failed' ? 'Could not copy: select the text and copy it.' : ''}
      </span>
    </>
  );
}
